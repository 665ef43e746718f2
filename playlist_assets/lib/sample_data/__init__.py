"""The deterministic sample generator: catalogue, replay pool and playlists."""
