"""``playlist-assets recommend``: songs that continue a playlist, from the current materialization.

    playlist-assets recommend --playlist https://open.spotify.com/playlist/<id> [--k 20]
    playlist-assets recommend --playlist mpd:<pid> --strategy cluster --format json
    playlist-assets recommend --playlist my_tracks.txt
    playlist-assets recommend --input playlists.json.gz --k 500 --format jsonl [--output out.jsonl]

The songs base, co-occurrence and models are those of the last materialization in the data
folder ($PLAYLIST_ASSETS_HOME, default ./.data), loaded once per process.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from playlist_assets import settings
from playlist_assets.cli import CliError
from playlist_assets.lib.recommend.names import STRATEGIES as STRATEGY_CHOICES
from playlist_assets.lib.schema import TRACK_URI_PREFIX


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="recommend songs that continue a playlist",
        description="Recommend catalogue songs that continue a playlist, using the song index, "
        "co-occurrence and models of the current materialization in the data folder "
        "($PLAYLIST_ASSETS_HOME, default ./.data).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--playlist",
        metavar="REF",
        help="a Spotify playlist URL or URI (needs SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET), "
        "mpd:<pid> (a playlist of the materialized playlists table), track ids separated by "
        "commas, or a text file of track ids / spotify:track: URIs / track URLs (one per line; "
        "# starts a comment)",
    )
    source.add_argument(
        "--input",
        metavar="PLAYLISTS.json",
        help="batch: an MPD-format file (.json or .json.gz); one JSON line per playlist",
    )
    parser.add_argument("--k", type=int, default=20, help="songs per playlist (default 20)")
    parser.add_argument(
        "--strategy",
        choices=STRATEGY_CHOICES,
        default="hybrid",
        help="ranking strategy (default hybrid)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "jsonl"),
        help="table or json for --playlist (default table); jsonl for --input (the default)",
    )
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise CliError(f"--k must be a positive number of songs, got {args.k}")
    fmt = args.format or ("jsonl" if args.input else "table")
    if args.input and fmt != "jsonl":
        raise CliError("--input writes one JSON line per playlist: use --format jsonl")
    if args.playlist and fmt == "jsonl":
        raise CliError("--format jsonl is for batch mode (--input); use table or json")
    if args.input:
        return _batch(args)
    tracks, artists, label = resolve_playlist(args.playlist)
    n_tracks = len(dict.fromkeys(tracks))
    recommender = _load()
    try:
        result = recommender.recommend(tracks, args.k, args.strategy, artists=artists)
    except ValueError as exc:
        raise CliError(f"{label}: {exc}") from None
    if result.recommendations.empty and fmt == "table":
        print(
            f"{label}: nothing to recommend with strategy {args.strategy}: every song it could "
            "rank is already in the playlist"
        )
        return 0
    text = _json(label, args, result) if fmt == "json" else _table(label, args, result, n_tracks)
    _write(args.output, text)
    return 0


# -- playlist references ------------------------------------------------------------------------


def resolve_playlist(ref: str) -> tuple[list[str], list[str | None] | None, str]:
    """Track ids (and artists when known) of a reference, and how to name it; files allowed."""
    from playlist_assets.lib.recommend.playlist_refs import PlaylistRefError
    from playlist_assets.lib.recommend.playlist_refs import resolve_playlist as resolve

    try:
        resolved = _waiting_for_warehouse(lambda: resolve(ref, allow_files=True))
    except PlaylistRefError as exc:
        raise CliError(str(exc)) from None
    return resolved.tracks, resolved.artists, resolved.label


# -- recommending -------------------------------------------------------------------------------


def _load() -> Any:
    from playlist_assets.lib.classifier.artifacts import ArtifactError
    from playlist_assets.lib.recommend.load import load_recommender

    try:
        return _waiting_for_warehouse(load_recommender)
    except ArtifactError as exc:
        raise CliError(str(exc)) from None


# How long a command waits for a materialization to release the warehouse before saying so.
WAREHOUSE_WAIT_S = 10.0
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


def _waiting_for_warehouse(read: Any) -> Any:
    """``read()``, retried while another process (a materialization) holds the DuckDB lock.

    DuckDB lets no other process open a file, even read-only, while one writes to it; a run
    holds the lock for a few seconds per step, so a short wait usually gets through.
    """
    import duckdb

    deadline = time.monotonic() + WAREHOUSE_WAIT_S
    while True:
        try:
            return read()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                first = str(exc).strip().splitlines()[0]
                raise CliError(f"cannot read {settings.warehouse_path()}: {first}") from None
            if time.monotonic() >= deadline:
                holder = _LOCK_HOLDER.search(str(exc))
                who = f"process {holder.group(1)}" if holder else "another process"
                raise CliError(
                    f"the warehouse {settings.warehouse_path()} is locked by {who} (a running "
                    f"materialization?) for over {WAREHOUSE_WAIT_S:.0f} s: try again when it ends"
                ) from None
            time.sleep(0.5)


def _table(label: str, args: argparse.Namespace, result: Any, n_tracks: int) -> str:
    frame = result.recommendations.copy()
    frame.insert(0, "rank", range(1, len(frame) + 1))
    in_base = n_tracks - len(result.missing)
    from_playlists = len(result.missing) - len(result.unknown)
    summary = (
        f"{len(frame)} songs for {label} (strategy {args.strategy}). Of its {n_tracks} tracks: "
        f"{in_base} in the songs base, {from_playlists} known from the playlists data only, "
        f"{len(result.unknown)} unknown (skipped)"
    )
    if result.cold_start and args.strategy == "hybrid":
        summary += "; cold start: no track in the playlists data"
    lines = [summary, "", frame.to_string(index=False, max_colwidth=40)]
    if result.note and args.strategy != "hybrid":
        lines.append(f"\nnote: {result.note}")
    return "\n".join(lines) + "\n"


def _json(label: str, args: argparse.Namespace, result: Any) -> str:
    return (
        json.dumps(
            {
                "playlist": label,
                "strategy": args.strategy,
                "k": args.k,
                "missing": result.missing,
                "unknown": result.unknown,
                "cold_start": result.cold_start,
                "note": result.note,
                "recommendations": json.loads(result.recommendations.to_json(orient="records")),
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )


def _write(output: str | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc}") from None


def _batch(args: argparse.Namespace) -> int:
    from playlist_assets.lib.recommend.playlists_io import PlaylistFileError, iter_playlists

    started = time.perf_counter()
    path = Path(args.input).expanduser()
    if not path.is_file():
        raise CliError(f"{path}: no such MPD file")
    recommender = _load()
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc}") from None
    done = cold = empty = 0
    try:
        for index, playlist in enumerate(iter_playlists(path)):
            pid, tracks, artists = _parse_playlist(path, index, playlist)
            chosen, _, seeds, _ = recommender.rank(
                tracks, args.k, args.strategy, artists=artists, allow_unknown=True
            )
            out.write(
                json.dumps({"pid": pid, "recommendations": recommender.ids[chosen].tolist()}) + "\n"
            )
            done += 1
            cold += not len(seeds.items)
            empty += not len(seeds.songs) and not len(seeds.items)
    except PlaylistFileError as exc:
        raise CliError(str(exc)) from None
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
    print(
        f"{done} playlists from {path} in {time.perf_counter() - started:.1f} s "
        f"({cold} cold start, {empty} with no known track)",
        file=sys.stderr,
    )
    return 0


def _parse_playlist(
    path: Path, index: int, playlist: Any
) -> tuple[Any, list[str], list[str | None]]:
    if not isinstance(playlist, dict) or "pid" not in playlist:
        raise CliError(f"{path}: playlist #{index} is not an object with a 'pid'")
    tracks = playlist.get("tracks") or []
    if not isinstance(tracks, list):
        raise CliError(
            f"{path}: playlist #{index} (pid {playlist['pid']}): 'tracks' must be a list"
        )
    ids, artists = [], []
    for i, track in enumerate(tracks):
        uri = track.get("track_uri") if isinstance(track, dict) else None
        if not isinstance(uri, str) or not uri.strip():
            raise CliError(
                f"{path}: playlist #{index} (pid {playlist['pid']}): track {i} has no 'track_uri'"
            )
        if uri.strip() == TRACK_URI_PREFIX:
            raise CliError(
                f"{path}: playlist #{index} (pid {playlist['pid']}): track {i} has track_uri "
                f"{uri!r} with no track id"
            )
        ids.append(uri)
        artists.append(track.get("artist_name"))
    return playlist["pid"], ids, artists
