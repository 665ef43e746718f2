"""``playlist-assets``: command-line entry point.

Each sub-command lives in its own module and registers itself through ``register(subparsers)``,
so the CLI stays fast to start (heavy imports happen inside the command that needs them).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that provide a ``register(subparsers)`` function.
COMMAND_MODULES: tuple[str, ...] = (
    "playlist_assets.cli.sample_data",
    "playlist_assets.cli.feed",
    "playlist_assets.cli.recommend",
    "playlist_assets.cli.dashboard",
    "playlist_assets.cli.doctor",
    "playlist_assets.cli.service",
    "playlist_assets.cli.users",
    "playlist_assets.cli.api",
    "playlist_assets.cli.simulate",
)


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="playlist-assets",
        description="Spotify tracks -> genre models -> playlist recommendations (Dagster project).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"playlist-assets {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
