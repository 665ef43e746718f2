"""The service profile's facts and checks (no Dagster): where its parts live and listen, how its
Postgres URLs are spelled, whether each part answers. ``scripts/serve.sh`` keeps only process
control and asks these through ``playlist-assets service ...``."""
