"""``playlist-assets simulate-listeners``: listeners from held-out playlists react to recommendations.

    playlist-assets simulate-listeners --api http://127.0.0.1:8000 --rate 5 --hours 0.01
    playlist-assets simulate-listeners --offline --rate 20 --hours 24 --start 2026-11-01T00

Each listener asks with the first half of a held-out playlist, adds the songs of its second
half that it is shown and skips the others (``--noise`` flips a share of reactions). With
``--api`` the HTTP API serves them and logs impressions and feedback; with ``--offline`` the
current materialization ranks in this process on a simulated clock and the lines are written
straight into the landing folders, where the hourly assets read them.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta, timezone

from playlist_assets import settings
from playlist_assets.cli import CliError
from playlist_assets.lib.feedback.contract import DEFAULT_CHALLENGER_SHARE

KEY_ENV = "PLAYLIST_API_KEY"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate-listeners",
        help="simulated listeners send recommendations' feedback (API or offline)",
        description=__doc__.split("\n\n")[2],
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--api", metavar="URL", help="the API's base URL, e.g. http://127.0.0.1:8000")
    mode.add_argument(
        "--offline", action="store_true", help="rank in process and write the landing lines"
    )
    parser.add_argument(
        "--key", help=f"API key (default: ${KEY_ENV}; none when the API runs open on loopback)"
    )
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second (default 5)")
    parser.add_argument("--hours", type=float, default=0.01, help="how long (default 0.01 h)")
    parser.add_argument(
        "--start",
        help="offline: the simulated clock's start, UTC, e.g. 2026-11-01T00 (default: the hours "
        "just before the current hour)",
    )
    parser.add_argument("--k", type=int, default=10, help="songs per request (default 10)")
    parser.add_argument("--look", type=int, default=5, help="songs each listener reacts to")
    parser.add_argument("--noise", type=float, default=0.05, help="share of flipped reactions")
    parser.add_argument(
        "--challenger-share",
        type=float,
        default=DEFAULT_CHALLENGER_SHARE,
        help="offline: listeners served by the challenger, when there is one (default 0.10)",
    )
    parser.add_argument(
        "--challenger-penalty",
        type=float,
        default=0.0,
        help="on this share of the challenger's lists listeners accept nothing: its acceptance "
        "is that much lower (to measure the A/B readout)",
    )
    parser.add_argument("--listeners", type=int, help="use only the first N held-out playlists")
    parser.add_argument(
        "--listeners-per-playlist",
        type=int,
        default=1,
        help="listeners per held-out playlist, each with their own stable share of its "
        "continuation as taste (default 1: the whole continuation); more listeners let the A/B "
        "readout judge a 10%% challenger share",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(func=run)


def _start(args: argparse.Namespace) -> datetime:
    if args.start:
        try:
            return datetime.fromisoformat(args.start).replace(tzinfo=None)
        except ValueError as exc:
            raise CliError(f"--start {args.start!r}: {exc}") from None
    now = datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    return now - timedelta(hours=max(1, int(args.hours + 0.999)))


def run(args: argparse.Namespace) -> int:
    from playlist_assets.lib.feedback.listeners import held_out_listeners, offline_ranker
    from playlist_assets.lib.feedback.simulate import Behaviour, run_api, run_offline

    if args.rate <= 0 or args.hours <= 0 or args.listeners_per_playlist < 1:
        raise CliError("--rate, --hours and --listeners-per-playlist must be positive")
    home = settings.data_home()
    try:
        listeners = held_out_listeners(home, args.listeners, args.listeners_per_playlist)
    except Exception as exc:  # noqa: BLE001 - one line for the user, whatever is missing
        raise CliError(f"no listeners in {home} (materialize playlists first): {exc}") from None
    if not listeners:
        raise CliError(f"no held-out playlist in {home} has a continuation to listen for")
    how = Behaviour(args.look, args.noise, args.challenger_penalty)
    if args.offline:
        rank, has_challenger = offline_ranker(home, k=args.k)
        start = _start(args)
        print(
            f"{len(listeners)} listeners, {args.rate:g}/s for {args.hours:g} h from {start:%Y-%m-%dT%H:%M} "
            f"(simulated clock) -> {settings.landing_dir()}"
        )
        tally = run_offline(
            listeners,
            rank,
            settings.landing_dir(),
            start=start,
            rate=args.rate,
            hours=args.hours,
            k=args.k,
            how=how,
            challenger_share=args.challenger_share if has_challenger else 0.0,
            seed=args.seed,
        )
    else:
        key = args.key or os.environ.get(KEY_ENV)
        print(f"{len(listeners)} listeners, {args.rate:g}/s for {args.hours:g} h -> {args.api}")
        tally = run_api(
            listeners,
            args.api,
            key=key,
            rate=args.rate,
            hours=args.hours,
            k=args.k,
            how=how,
            seed=args.seed,
        )
    print(tally.summary())
    for error in tally.errors:
        print(f"  {error}")
    return 1 if tally.failures and not tally.requests else 0
