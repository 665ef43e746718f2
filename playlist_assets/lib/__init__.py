"""Pure functions (no Dagster imports): features, models, metrics, drift, recommendation."""
