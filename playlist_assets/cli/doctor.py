"""``playlist-assets doctor``: free what runs that died left behind.

    playlist-assets doctor [--dry-run]

Finds runs of the Dagster instance ($DAGSTER_HOME, else <data folder>/dagster_home) that are
STARTED but whose process is gone (kill -9, a reboot), marks them failed, frees the ``duckdb``
pool slots they held (or any slot a finished run still holds) and ends their MLflow runs as
KILLED. Every run does this by itself before it starts; the command is for looking, and for an
instance whose next run is not due soon.
"""

from __future__ import annotations

import argparse
import os

from playlist_assets import settings
from playlist_assets.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="recover runs that died: mark failed, free pool slots, end MLflow runs",
        description="Find Dagster runs whose process died (kill -9, reboot) while STARTED, mark "
        "them failed, free the pool slots they held and end their MLflow runs as KILLED.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="only say what would be done; change nothing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    home = settings.dagster_home()
    if not (home / "dagster.yaml").is_file() and not (home / "history").is_dir():
        raise CliError(f"no Dagster instance at {home}: set {settings.DAGSTER_HOME_ENV}")
    os.environ[settings.DAGSTER_HOME_ENV] = str(home)
    import dagster as dg

    from playlist_assets.run_recovery import recover_orphaned_runs

    with dg.DagsterInstance.get() as instance:
        report = recover_orphaned_runs(
            instance, mlflow_uri=settings.mlflow_tracking_uri(), dry_run=args.dry_run
        )
    prefix = "would do: " if args.dry_run else ""
    for line in report.lines():
        print(prefix + line)
    if not report.did_something:
        print(f"nothing to recover in {home}: no run holds a slot without a live process")
    return 0
