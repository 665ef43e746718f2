"""``playlist-assets feed``: what a feed would deliver for one hour, without Dagster.

Handy before the schedule picks an hour up: check that files dropped in the landing folder load
(and which rows would be kept aside, and why), or look at a replay hour and its drift.
Nothing is written unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from playlist_assets import settings
from playlist_assets.cli import CliError

KINDS = ("replay", "landing")
REPLAY_MODES = ("pool", "fresh")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "feed",
        help="preview one hour of the replay or landing feed",
        description="Show what the new_tracks feed would store for one hour: tracks per genre, "
        "and the rows or files it would keep aside with the reason. Reads the data folder "
        "($PLAYLIST_ASSETS_HOME, default ./.data); writes nothing unless --out is given.",
    )
    parser.add_argument(
        "--hour",
        required=True,
        help="the hour: a partition key (2026-11-25-13:00), a landing folder name (2026-11-25T13) "
        "or an ISO time (UTC unless it says otherwise)",
    )
    parser.add_argument("--kind", choices=KINDS, default="replay", help="feed (default replay)")
    parser.add_argument(
        "--mode",
        choices=REPLAY_MODES,
        default=os.environ.get(settings.REPLAY_MODE_ENV, "").strip() or "pool",
        help=f"replay: redraw the held-back pool, or new tracks every hour (default "
        f"${settings.REPLAY_MODE_ENV}, else pool)",
    )
    parser.add_argument("--landing-dir", help="landing folder (default <data folder>/landing)")
    parser.add_argument(
        "--pool", help="replay: Kaggle-format CSV to draw from (default: the sample's)"
    )
    parser.add_argument("--tracks-per-hour", type=int, default=40, help="replay: tracks per hour")
    parser.add_argument(
        "--drift-features", default="", help="replay: comma-separated features to shift"
    )
    parser.add_argument("--drift-start", help="replay: first drifted hour (partition key)")
    parser.add_argument(
        "--drift-strength", type=float, default=0.0, help="replay: shift in std units"
    )
    parser.add_argument("--out", help="also write the hour's tracks to this CSV file")
    parser.set_defaults(func=run)


def parse_hour(text: str) -> datetime:
    """Any of the accepted spellings as the naive UTC start of the hour."""
    import pandas as pd

    from playlist_assets.lib.feeds.replay import ReplayError
    from playlist_assets.lib.feeds.replay import parse_hour as parse

    try:
        moment = parse(text)
    except ReplayError:
        raise CliError(
            f"--hour {text!r} is not an hour: use 2026-11-25-13:00, 2026-11-25T13 or an ISO time"
        ) from None
    return pd.Timestamp(moment).floor("h").to_pydatetime()


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from playlist_assets.lib.constants import PARTITION_KEY_FORMAT
    from playlist_assets.lib.feeds.landing import hour_folder_name, read_landing_hour

    hour = parse_hour(args.hour)
    if args.kind == "landing":
        folder = Path(args.landing_dir or settings.landing_dir())
        batch = read_landing_hour(folder, hour)
        where = str(folder / hour_folder_name(hour))
    else:
        batch = _replay(args, hour, hour.strftime(PARTITION_KEY_FORMAT))
        where = "replay" if args.mode == "pool" else "replay, fresh tracks"

    tracks, rejects = batch.tracks, batch.rejects
    print(f"{hour:%Y-%m-%d %H:00} UTC, {args.kind} feed ({where}): {len(tracks)} tracks")
    for genre, count in tracks["track_genre"].value_counts(dropna=False).sort_index().items():
        print(f"  {genre}: {count}")
    for note in batch.notes:
        print(f"  note: {note}")
    if len(rejects):
        print(f"{len(rejects)} row(s) would be kept aside:")
        for row in rejects.head(20).itertuples():
            at = "" if pd.isna(row.row_number) else f" row {row.row_number}"
            print(f"  {row.source}{at}: {row.reason}")
        if len(rejects) > 20:
            print(f"  ... and {len(rejects) - 20} more")
    if args.out:
        tracks.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


def _replay(args: argparse.Namespace, hour: datetime, key: str):
    from playlist_assets.lib.feeds.replay import DriftSpec, ReplayError, load_pool, replay_hour

    features = [f.strip() for f in args.drift_features.split(",") if f.strip()]
    try:
        drift = DriftSpec.parse(features, args.drift_start, args.drift_strength)
        if args.mode == "fresh":
            from playlist_assets.lib.feeds.fresh import fresh_hour

            genres = settings.configured_genres()
            return fresh_hour(genres, key, hour, args.tracks_per_hour, drift)
        if args.pool:
            pool_path = Path(args.pool)
        else:
            from playlist_assets.lib.sample_data.generate import ensure_sample

            pool_path = ensure_sample(settings.sample_dir()).replay_csv
        pool = load_pool(pool_path, settings.configured_genres())
        return replay_hour(pool, key, hour, args.tracks_per_hour, drift)
    except ReplayError as exc:
        raise CliError(str(exc)) from None
