"""Playlist references -> track ids, for the ``recommend`` command and the dashboard's form alike.

A reference is a Spotify playlist URL or ``spotify:playlist:`` URI, ``mpd:<pid>`` (a playlist of
the materialized ``playlists`` table), pasted track ids / URIs / track URLs, or — on the command
line only — a text file of track ids. Reading a file is opt-in (``allow_files=True``): a reference
typed into a web page must never make the server open one of its own files.

Every failure is a :class:`PlaylistRefError` with one line fit to show the user.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from playlist_assets import settings
from playlist_assets.lib.constants import TRACK_ID_CHARS, TRACK_ID_PATTERN
from playlist_assets.lib.schema import TRACK_URI_PREFIX

PLAYLIST_URL = re.compile(
    r"^(?:https?://open\.spotify\.com/(?:intl-[a-z]+/)?playlist/|spotify:playlist:)"
    rf"({TRACK_ID_CHARS})(?:[/?#].*)?$"
)
_TOKEN = re.compile(r"[\s,;]+")
TRACK_ID = re.compile(TRACK_ID_PATTERN)
_TRACK_URL = re.compile(rf"open\.spotify\.com/(?:intl-[a-z]+/)?track/({TRACK_ID_CHARS})")
# Web-facing references: a bounded budget, so a slow Spotify cannot hold a page (or the CLI) long.
SPOTIFY_ATTEMPTS, SPOTIFY_TOTAL_S = 3, 30.0


def normalize_track_id(ref: object) -> str:
    """A bare Spotify track id from an id, a ``spotify:track:`` URI or an open.spotify.com URL."""
    text = str(ref).strip()
    if len(text) == 22:  # a bare id: the common case, no pattern to run
        return text
    if text.startswith(TRACK_URI_PREFIX):
        return text[len(TRACK_URI_PREFIX) :]
    match = _TRACK_URL.search(text)
    if match:
        return match.group(1)
    return text


def looks_like_track_id(text: str) -> bool:
    return bool(TRACK_ID.match(text))


class PlaylistRefError(ValueError):
    """A reference that names no readable playlist; the message is one line for the user."""


@dataclass(frozen=True)
class ResolvedPlaylist:
    """The playlist's track ids in order, lead artists when the source knows them, and a label."""

    tracks: list[str]
    artists: list[str | None] | None
    label: str


def resolve_playlist(ref: str, *, allow_files: bool = False) -> ResolvedPlaylist:
    """The tracks a reference names; files of ids only with ``allow_files`` (the CLI)."""
    ref = ref.strip()
    if not ref:
        raise PlaylistRefError("no playlist given: a Spotify playlist URL, mpd:<pid> or track ids")
    if ref.startswith("mpd:"):
        tracks, artists = mpd_playlist(ref[4:])
        return ResolvedPlaylist(tracks, artists, ref)
    match = PLAYLIST_URL.match(ref)
    if match:
        tracks, artists = spotify_playlist(match.group(1))
        return ResolvedPlaylist(tracks, artists, ref)
    if allow_files and Path(ref).expanduser().is_file():
        path = Path(ref).expanduser()
        return ResolvedPlaylist(read_track_file(path), None, str(path))
    if pasted := parse_track_ids(ref):
        return ResolvedPlaylist(pasted, None, f"{len(pasted)} pasted track(s)")
    if "open.spotify.com" in ref or ref.startswith("spotify:"):
        raise PlaylistRefError(
            f"{_short(ref)} is not a Spotify playlist URL (open.spotify.com/playlist/<id>)"
        )
    if allow_files:
        raise PlaylistRefError(
            f"--playlist {_short(ref)} is neither a Spotify playlist URL, mpd:<pid>, nor an "
            "existing file (nor track ids)"
        )
    raise PlaylistRefError(
        f"{_short(ref)} is neither a Spotify playlist URL/URI, mpd:<pid>, nor track ids "
        "(files of ids are read by the command line only: playlist-assets recommend "
        "--playlist FILE)"
    )


def parse_track_ids(text: str) -> list[str] | None:
    """Pasted ids, ``spotify:track:`` URIs or track URLs (spaces, commas, lines); None if any is
    not one of those."""
    ids = [normalize_track_id(token) for token in _TOKEN.split(text) if token]
    return ids if ids and all(looks_like_track_id(i) for i in ids) else None


def read_track_file(path: Path) -> list[str]:
    """Track references of a text file: ids, URIs or URLs, separated by lines/commas/spaces."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaylistRefError(f"{path}: cannot be read: {exc}") from None
    tracks = []
    for number, line in enumerate(text.splitlines(), start=1):
        for token in _TOKEN.split(line.split("#", 1)[0].strip()):
            if not token:
                continue
            track = normalize_track_id(token)
            if not looks_like_track_id(track):
                raise PlaylistRefError(
                    f"{path}, line {number}: {token!r} is not a Spotify track id, "
                    "spotify:track: URI or track URL"
                )
            tracks.append(track)
    if not tracks:
        raise PlaylistRefError(f"{path}: holds no track ids")
    return tracks


def mpd_playlist(pid_text: str) -> tuple[list[str], list[str | None]]:
    """Track ids and artists of playlist ``pid`` in the materialized ``playlists`` table."""
    import duckdb

    try:
        pid = int(pid_text)
    except ValueError:
        raise PlaylistRefError(
            f"mpd:{pid_text} is not a playlist id: use mpd:<integer pid>"
        ) from None
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        raise PlaylistRefError(
            f"no warehouse at {warehouse}: materialize the playlists asset first"
        )
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                "select track_id, artist_name from main.playlists where pid = ? order by pos",
                [pid],
            ).fetchall()
    except duckdb.CatalogException:
        raise PlaylistRefError(
            f"{warehouse} has no playlists table: materialize it first"
        ) from None
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise  # a materialization holds the file: the caller decides whether to wait
        raise PlaylistRefError(f"cannot read {warehouse}: {exc}") from None
    except duckdb.Error as exc:
        raise PlaylistRefError(f"cannot read {warehouse}: {exc}") from None
    if not rows:
        raise PlaylistRefError(f"no playlist with pid {pid} in the materialized playlists table")
    return [r[0] for r in rows], [r[1] for r in rows]


def spotify_playlist(playlist_id: str) -> tuple[list[str], list[str | None]]:
    """Track ids and lead artists of a Spotify playlist (client credentials, bounded retries).

    Credentials and the API / token URLs come from the environment only (deployment
    configuration), never from the reference.
    """
    from playlist_assets.lib.feeds.spotify import (
        RetryBudget,
        SpotifyFeedClient,
        SpotifyFeedError,
        SpotifySettings,
    )

    client_id = os.environ.get(settings.SPOTIFY_CLIENT_ID_ENV, "")
    secret = os.environ.get(settings.SPOTIFY_CLIENT_SECRET_ENV, "")
    if not client_id or not secret:
        raise PlaylistRefError(
            f"reading a Spotify playlist needs {settings.SPOTIFY_CLIENT_ID_ENV} and "
            f"{settings.SPOTIFY_CLIENT_SECRET_ENV} in the environment (a Spotify app's client "
            "credentials); or pass mpd:<pid> or track ids"
        )
    config = SpotifySettings(
        client_id,
        secret,
        api_url=os.environ.get(settings.SPOTIFY_API_URL_ENV) or None,
        token_url=os.environ.get(settings.SPOTIFY_TOKEN_URL_ENV) or None,
    )
    budget = RetryBudget(max_attempts=SPOTIFY_ATTEMPTS, total_s=SPOTIFY_TOTAL_S)
    try:
        with SpotifyFeedClient(config, budget) as client:
            items = client.playlist_tracks(playlist_id)
    except SpotifyFeedError as exc:
        raise PlaylistRefError(f"Spotify playlist {playlist_id}: {exc}") from None
    if not items:
        raise PlaylistRefError(f"Spotify playlist {playlist_id} has no tracks")
    return [track for track, _ in items], [artist for _, artist in items]


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
