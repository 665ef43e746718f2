"""Dagster wiring: one asset family per module, each exposing a ``defs`` object."""
