"""``playlist-assets service``: the checks and facts ``scripts/serve.sh`` asks for.

    playlist-assets service env [--database]      shell assignments: folders, ports (+ stores)
    playlist-assets service check-port SERVICE     fails if SERVICE's port is taken
    playlist-assets service check-postgres SERVICE SETTING [--url-env NAME]
    playlist-assets service new-secret FILE        a random secret, mode 600, if FILE is missing
    playlist-assets service wait SERVICE --pid PID --log FILE
    playlist-assets service health SERVICE         its status words; exit 1 when not healthy

Settings come from the environment (``SERVE_HOST``, ``DAGSTER_PORT``, ... see
``lib/service/profile.py``); failures print one line naming the service and the setting.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
from pathlib import Path

from playlist_assets.cli import CliError

SERVICE_NAMES = ("postgres", "code-server", "mlflow", "webserver", "daemon")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "service",
        help="checks and settings of the service profile (used by scripts/serve.sh)",
        description="The facts and health checks scripts/serve.sh asks for; settings come from "
        "the environment (SERVE_HOST, DAGSTER_PORT, CODE_SERVER_PORT, MLFLOW_PORT, "
        "POSTGRES_PORT, DATABASE_URL, ...).",
    )
    sub = parser.add_subparsers(dest="action", required=True)

    env = sub.add_parser("env", help="print the profile's settings as shell assignments")
    env.add_argument(
        "--database",
        action="store_true",
        help="the stores instead: DATABASE_URL, MLflow's backend, artifacts and tracking URI",
    )
    env.set_defaults(func=_env)

    port = sub.add_parser("check-port", help="fail with one line if SERVICE's port is taken")
    port.add_argument("service", choices=sorted(_port_services()))
    port.set_defaults(func=_check_port)

    pg = sub.add_parser("check-postgres", help="connect to a Postgres URL; one line if it fails")
    pg.add_argument("service", help="who needs it (named in the message)")
    pg.add_argument("setting", help="the setting to fix when it fails (named in the message)")
    pg.add_argument(
        "--url-env", default="DATABASE_URL", help="environment variable holding the URL"
    )
    pg.set_defaults(func=_check_postgres)

    secret = sub.add_parser("new-secret", help="write a random secret to FILE (mode 600)")
    secret.add_argument("file", type=Path)
    secret.set_defaults(func=_new_secret)

    wait = sub.add_parser(
        "wait", help="until SERVICE is healthy, its process dies or time runs out"
    )
    wait.add_argument("service", choices=SERVICE_NAMES)
    wait.add_argument("--pid", type=int, required=True, help="the service's process")
    wait.add_argument("--log", type=Path, required=True, help="its log (tail shown on failure)")
    wait.set_defaults(func=_wait)

    health = sub.add_parser("health", help="print SERVICE's status words; exit 1 if unhealthy")
    health.add_argument("service", choices=SERVICE_NAMES)
    health.set_defaults(func=_health)


def _port_services() -> list[str]:
    from playlist_assets.lib.service.profile import PORTS

    return list(PORTS)


def _profile():
    from playlist_assets.lib.service.profile import Profile

    try:
        return Profile.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _print_assignments(values: dict[str, str], export: bool) -> None:
    for name, value in values.items():
        print(f"{'export ' if export else ''}{name}={shlex.quote(value)}")


def _env(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.profile import database_env

    profile = _profile()
    if not args.database:
        _print_assignments(profile.shell_layout(), export=False)
        return 0
    try:
        _print_assignments(database_env(profile, os.environ), export=True)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return 0


def _check_port(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.probes import port_in_use
    from playlist_assets.lib.service.profile import PORTS

    profile = _profile()
    port = profile.ports[args.service]
    if port and port_in_use(profile.probe_host, port):
        print(
            f"{args.service}: port {port} on {profile.host} is already in use "
            f"(set {PORTS[args.service].setting} to another port)",
            file=sys.stderr,
        )
        return 1
    return 0


def _check_postgres(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.postgres import check_connection

    url = os.environ.get(args.url_env, "")
    if not url:
        print(f"{args.service}: {args.url_env} is not set", file=sys.stderr)
        return 1
    failure = check_connection(url, args.setting)
    if failure:
        print(f"{args.service}: {failure}", file=sys.stderr)
        return 1
    return 0


def _new_secret(args: argparse.Namespace) -> int:
    if args.file.exists():
        return 0
    args.file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(24) + "\n")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.health import health_check, wait_healthy

    profile = _profile()
    check = health_check(args.service, profile, os.environ)
    failure = wait_healthy(check, lambda: _alive(args.pid), profile.start_timeout_s, args.log)
    if failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


def _health(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.health import health_check

    check = health_check(args.service, _profile(), os.environ)
    healthy = check.probe()
    print(check.healthy if healthy else check.unhealthy)
    return 0 if healthy else 1
