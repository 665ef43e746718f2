"""``playlist-assets api`` (the recommendation API) and ``playlist-assets api-keys``.

    playlist-assets api [--host 127.0.0.1] [--port 8000] [--rate 20 --burst 40]
    playlist-assets api-keys create --role client|admin [--name "my app"]
    playlist-assets api-keys list
    playlist-assets api-keys revoke <key id>

The service reads the data folder ($PLAYLIST_ASSETS_HOME, default ./.data) and the Dagster
instance ($DAGSTER_HOME, else <data folder>/dagster_home) and swaps in new models as they are
materialized. On 127.0.0.1 it runs open while no key exists; any other address needs keys.
"""

from __future__ import annotations

import argparse
import sys

from playlist_assets.api import config as api_config
from playlist_assets.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_api(subparsers)
    _register_keys(subparsers)


def _register_api(subparsers: argparse._SubParsersAction) -> None:
    """``playlist-assets api`` and its flags: one argparse declaration per setting, in the order
    ``--help`` shows them (each flag overrides the environment variable ``api.config`` reads)."""
    env = api_config
    parser = subparsers.add_parser(
        "api",
        help="serve recommendations over HTTP (FastAPI + uvicorn)",
        description="Serve the recommendation API: POST /v1/recommendations, GET "
        "/v1/songs/{id}, POST /v1/feedback, /healthz, /readyz, /metrics, /docs. Models are "
        "loaded in the background and swapped in when a new one is materialized or promoted. "
        f"Settings also come from ${env.HOST_ENV}, ${env.PORT_ENV}, ${env.RATE_ENV}, "
        f"${env.BURST_ENV}, ${env.POLL_ENV}, ${env.THREADS_ENV}, ${env.PROCESSES_ENV}, "
        f"${env.CHALLENGER_SHARE_ENV}, "
        f"${env.FEEDBACK_MEMORY_ENV}; flags win.",
    )
    parser.add_argument(
        "--host",
        help=f"address to listen on (default {env.DEFAULT_HOST}; any "
        "other than loopback needs API keys)",
    )
    parser.add_argument("--port", type=int, help=f"port (default {env.DEFAULT_PORT}; 0: any free)")
    parser.add_argument(
        "--rate", type=float, help=f"requests/s per key (default {env.DEFAULT_RATE:g})"
    )
    parser.add_argument("--burst", type=int, help=f"burst per key (default {env.DEFAULT_BURST})")
    parser.add_argument(
        "--poll-seconds",
        type=float,
        help=f"how often to look for new models (default {env.DEFAULT_POLL_SECONDS:g})",
    )
    parser.add_argument(
        "--threads", type=int, help=f"recommendation worker threads (default {env.DEFAULT_THREADS})"
    )
    parser.add_argument(
        "--processes",
        type=int,
        help="ranking processes forked after each load, sharing its memory (default "
        f"{env.DEFAULT_PROCESSES}; 0: rank in the threads)",
    )
    parser.add_argument(
        "--prefork-max-mib",
        type=float,
        help="a promotion's ranking processes are forked before its swap when the replaced "
        "co-occurrence they would keep mapped is at most this big (default "
        f"{env.DEFAULT_PREFORK_MAX_MIB:g} MiB; 0: always after the replaced state is freed)",
    )
    parser.add_argument(
        "--challenger-share",
        type=float,
        help="share of listeners (stable per user, else per key) the recommender challenger "
        f"serves when one exists (0..1, default {env.DEFAULT_CHALLENGER_SHARE:g}; 0: none)",
    )
    parser.add_argument(
        "--feedback-memory",
        type=int,
        help="recent requests (at most a day's) remembered to check feedback against "
        f"(default {env.DEFAULT_FEEDBACK_MEMORY:,})",
    )
    parser.add_argument(
        "--require-keys",
        action="store_true",
        default=None,
        help="require API keys even on loopback (behind a proxy loopback is not private); "
        f"also ${env.REQUIRE_KEYS_ENV}=1",
    )
    parser.add_argument(
        "--root-path",
        help="the path prefix a proxy serves the API under, e.g. /api (for /docs); also "
        f"${env.ROOT_PATH_ENV}",
    )
    parser.set_defaults(func=run_api)


def _register_keys(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "api-keys",
        help="create, list and revoke API keys",
        description="API keys of the recommendation API, stored hashed (argon2id) in "
        "<data folder>/api/keys.json. A key is shown once, when created.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument(
        "--role",
        choices=("client", "admin"),
        required=True,
        help="client: recommend and send feedback; admin: also reload and read usage and metrics",
    )
    create.add_argument("--name", default="", help="a label: who or what uses the key")
    actions.add_parser("list", help="every key: id, role, label, created, revoked")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="the key's id (8 hex digits, from list)")
    parser.set_defaults(func=run_keys)


def run_api(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from playlist_assets.api.server import StartRefused, serve

    try:
        config = api_config.ApiConfig.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    flags = {
        "host": args.host,
        "port": args.port,
        "rate": args.rate,
        "burst": args.burst,
        "poll_seconds": args.poll_seconds,
        "threads": args.threads,
        "processes": args.processes,
        "prefork_max_mib": args.prefork_max_mib,
        "challenger_share": args.challenger_share,
        "feedback_memory": args.feedback_memory,
        "require_keys": args.require_keys,
        "root_path": args.root_path.rstrip("/") if args.root_path else None,
    }
    config = replace(config, **{k: v for k, v in flags.items() if v is not None})
    try:
        serve(config, announce=lambda line: print(line, file=sys.stderr, flush=True))
    except StartRefused as exc:
        raise CliError(str(exc)) from None
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from playlist_assets.api.keys import KeyCommandError, KeyStore

    store = KeyStore(api_config.keys_path())
    try:
        if args.action == "create":
            record, token = store.create(args.role, args.name)
            print(token)
            print(
                f"key {record.id} ({record.role}) created; it is shown only now. Send it as "
                "'Authorization: Bearer <key>'. Revoke: playlist-assets api-keys revoke "
                f"{record.id}",
                file=sys.stderr,
            )
        elif args.action == "list":
            _list(store)
        else:
            record = store.revoke(args.key_id)
            print(f"key {record.id} ({record.role}) revoked at {record.revoked_at}")
    except KeyCommandError as exc:
        raise CliError(str(exc)) from None
    return 0


def _list(store) -> None:
    records = store.records()
    if not records:
        print(f"no API keys in {store.path}: create one with api-keys create --role client")
        return
    print(f"{'id':8}  {'role':6}  {'created':25}  {'revoked':25}  name")
    for r in records:
        print(f"{r.id:8}  {r.role:6}  {r.created_at:25}  {r.revoked_at or '-':25}  {r.name}")
