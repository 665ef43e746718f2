"""``playlist-assets sample-data``: write the generated sample the graph runs on by default.

The catalogue, the replay pool and the playlists are written only when missing or made with
other settings (or with ``--force``), so running it twice costs nothing. Above 1,000 playlists
the playlists are the full-size dataset's: MPD slice files of 1,000 in ``<dest>/mpd/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playlist_assets import settings
from playlist_assets.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-data",
        help="write the generated sample tracks, replay pool and playlists",
        description="Write the deterministic sample the graph uses when no real data is "
        "configured: a Kaggle-format catalogue (spotify_tracks.csv), a replay pool for the "
        "hourly feed (replay_pool.csv) and MPD-format playlists (mpd.slice.sample.json). "
        "More than 1,000 playlists are written like the full Million Playlist Dataset: "
        "gzipped slice files of 1,000 playlists in <dest>/mpd/, with its long tail of tracks the "
        "catalogue lacks (~2.3 M distinct at 1,000,000 playlists; about 5%% of the entries "
        "catalogue songs). Files already written with the same settings are left alone.",
    )
    parser.add_argument(
        "--dest", help="folder to write to (default <data folder>/sample, $PLAYLIST_ASSETS_HOME)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--per-genre", type=int, default=300, help="catalogue tracks per genre (default 300)"
    )
    parser.add_argument(
        "--replay-per-genre",
        type=int,
        default=150,
        help="replay pool tracks per genre (default 150)",
    )
    parser.add_argument(
        "--playlists",
        type=int,
        default=800,
        help="playlists (default 800; above 1,000: MPD slice files in <dest>/mpd/)",
    )
    parser.add_argument("--force", action="store_true", help="rewrite even if current")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from playlist_assets.lib.sample_data import generate as sample_data

    for flag, value, least in (
        ("--per-genre", args.per_genre, 1),
        ("--replay-per-genre", args.replay_per_genre, 1),
        ("--playlists", args.playlists, 0),
    ):
        if value < least:
            raise CliError(f"{flag} must be at least {least}, got {value}")
    dest = Path(args.dest) if args.dest else settings.sample_dir()
    wanted = sample_data.sample_manifest(
        args.seed, args.per_genre, args.playlists, args.replay_per_genre
    )
    current = not args.force and sample_data.sample_is_current(dest, wanted)
    try:
        paths = sample_data.ensure_sample(
            dest,
            seed=args.seed,
            n_per_genre=args.per_genre,
            n_playlists=args.playlists,
            replay_per_genre=args.replay_per_genre,
            force=args.force,
            progress=_progress if sample_data.sliced(args.playlists) else None,
        )
    except OSError as exc:
        raise CliError(f"cannot write the sample to {dest}: {exc}") from None

    n_genres = len(sample_data.SAMPLE_GENRES)
    print(f"sample in {dest} ({'already current' if current else 'written'}, seed {args.seed})")
    print(
        f"  catalogue:   {paths.tracks_csv} ({args.per_genre * n_genres} rows, {n_genres} genres)"
    )
    print(f"  replay pool: {paths.replay_csv} ({args.replay_per_genre * n_genres} rows)")
    slices = wanted.get("slices")
    where = f"{slices} slice files, " if slices else ""
    print(f"  playlists:   {paths.playlists_json} ({where}{args.playlists} playlists)")
    return 0


def _progress(done: int, total: int) -> None:
    """One line per tenth of the slices, on stderr (the summary stays on stdout)."""
    if done == total or done % max(1, total // 10) == 0:
        print(f"  slices written: {done}/{total}", file=sys.stderr, flush=True)
