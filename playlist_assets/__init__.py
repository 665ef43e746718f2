"""Dagster assets that turn Spotify track data into genre models and playlist recommendations."""

__version__ = "0.1.0"
