"""A request's seeds -> track ids (and artists when the source knows them), or a field error.

Each seed is a track id, a ``spotify:track:`` URI or a track URL, or names a whole playlist:
``mpd:<pid>`` (the materialized ``playlists`` table) or a Spotify playlist URL/URI (only with
Spotify credentials in the service's environment). Parsing is ``lib.recommend.playlist_refs``'s,
the same as the command line's and the dashboard's; files are never read.

``mpd:<pid>`` opens the warehouse read-only for the one lookup, so it answers 503 with
``Retry-After`` while a materialization holds DuckDB's writer lock; track ids never touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

from playlist_assets.api.errors import ApiError

WAREHOUSE_BUSY_RETRY_S = 2


@dataclass(frozen=True)
class SeedTracks:
    tracks: list[str]
    artists: list[str | None] | None  # aligned with tracks; None when no source knew any


def names_playlists(seeds: list[str]) -> bool:
    """Does a seed name a whole playlist (read from the warehouse or Spotify: blocking I/O)?"""
    from playlist_assets.lib.recommend.playlist_refs import PLAYLIST_URL

    return any(s.strip().startswith("mpd:") or PLAYLIST_URL.match(s.strip()) for s in seeds)


def resolve_seeds(seeds: list[str]) -> SeedTracks:
    """The tracks of every seed in order; the first bad one raises naming ``seeds[i]``."""
    import duckdb

    from playlist_assets.lib.recommend.playlist_refs import (
        PLAYLIST_URL,
        PlaylistRefError,
        parse_track_ids,
        resolve_playlist,
    )

    tracks: list[str] = []
    artists: list[str | None] = []
    for i, raw in enumerate(seeds):
        ref, field = raw.strip(), f"seeds[{i}]"
        if ref.startswith("mpd:") or PLAYLIST_URL.match(ref):
            try:
                playlist = resolve_playlist(ref)
            except PlaylistRefError as exc:
                raise ApiError(422, "unresolved_playlist", str(exc), field) from None
            except duckdb.IOException:
                raise ApiError(
                    503,
                    "warehouse_busy",
                    f"{ref}: the warehouse is held by a running materialization; retry shortly",
                    field,
                    {"Retry-After": str(WAREHOUSE_BUSY_RETRY_S)},
                ) from None
            tracks += playlist.tracks
            artists += playlist.artists or [None] * len(playlist.tracks)
            continue
        ids = parse_track_ids(ref) if ref else None
        if ids is None or len(ids) != 1:
            raise ApiError(
                422,
                "invalid_seed",
                f"{field}: {_short(raw)} is not a track id, spotify:track: URI, track URL, "
                "mpd:<pid> or Spotify playlist URL",
                field,
            )
        tracks += ids
        artists.append(None)
    return SeedTracks(tracks, artists if any(a is not None for a in artists) else None)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
