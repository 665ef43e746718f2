"""Playlist references: one resolver for the CLI (files allowed) and the dashboard (never files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from playlist_assets.lib.recommend.playlist_refs import PlaylistRefError, resolve_playlist

JAZZ = "4Kh6cq3XgOGUK9yXQu7RTq"
ROCK = "6Oq3A4IxlvSU2PQVWb7D3G"


def test_pasted_ids_uris_and_track_urls(data_home: Path) -> None:
    resolved = resolve_playlist(
        f"{JAZZ}, spotify:track:{ROCK} https://open.spotify.com/track/{JAZZ}"
    )
    assert resolved.tracks == [JAZZ, ROCK, JAZZ]
    assert resolved.artists is None and resolved.label == "3 pasted track(s)"


def test_a_file_is_read_only_when_files_are_allowed(data_home: Path, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# mine\n{JAZZ}\nspotify:track:{ROCK}\n")
    assert resolve_playlist(str(ids), allow_files=True).tracks == [JAZZ, ROCK]
    with pytest.raises(PlaylistRefError, match="command line only"):
        resolve_playlist(str(ids))


def test_spotify_playlist_needs_credentials_from_the_environment(data_home: Path) -> None:
    with pytest.raises(PlaylistRefError, match="needs SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET"):
        resolve_playlist(f"spotify:playlist:{JAZZ}")
