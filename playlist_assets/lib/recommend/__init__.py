"""Playlist continuation: the recommender, its features, tuning, evaluation and data.

Light on purpose: importing the package imports nothing heavy (the CLI reads ``names``)."""
