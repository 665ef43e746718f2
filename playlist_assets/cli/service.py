"""``playlist-assets service``: the checks and facts ``scripts/serve.sh`` asks for.

    playlist-assets service env [--database]      shell assignments: folders, ports (+ stores)
    playlist-assets service check-port SERVICE     fails if SERVICE's port is taken
    playlist-assets service check-postgres SERVICE SETTING [--url-env NAME]
    playlist-assets service new-secret FILE        a random secret, mode 600, if FILE is missing
    playlist-assets service wait SERVICE --pid PID --log FILE
    playlist-assets service health SERVICE         its status words; exit 1 when not healthy
    playlist-assets service door-listen            the address the door may listen on
    playlist-assets service nginx-conf --listen HOST [--api]   the door's nginx.conf
    playlist-assets service door                   the door's login check (for nginx), foreground
    playlist-assets service mlflow-auth            MLflow's auth config (its store's URL, mode 600)

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

SERVICE_NAMES = (
    "postgres",
    "code-server",
    "mlflow",
    "webserver",
    "view",
    "daemon",
    "dashboard",
    "api",
    "door",
    "proxy",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """The ``service`` sub-commands and their options: one argparse declaration per command
    serve.sh calls, kept together so the script's vocabulary reads in one place."""
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

    listen = sub.add_parser(
        "door-listen", help="SERVE_HOST if the door has users, else 127.0.0.1 (and why)"
    )
    listen.set_defaults(func=_door_listen)

    conf = sub.add_parser("nginx-conf", help="print the door's nginx.conf")
    conf.add_argument("--listen", required=True, help="the address nginx listens on")
    conf.add_argument(
        "--api", action="store_true", help="route /api/ to the recommendation API (API_PORT)"
    )
    conf.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="SERVICE",
        help="a service this deployment does not run: its route answers 503",
    )
    conf.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="SERVICE=HOST:PORT",
        help="where a service listens when not on 127.0.0.1 (containers: webserver=webserver:3000)",
    )
    conf.set_defaults(func=_nginx_conf)

    door = sub.add_parser("door", help="serve the door's login check on its unix socket")
    door.set_defaults(func=_door)

    mlflow = sub.add_parser("mlflow-auth", help="write MLflow's auth config (mode 600)")
    mlflow.set_defaults(func=_mlflow_auth)


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
    from playlist_assets.lib.service.profile import database_env, service_account_env

    profile = _profile()
    if not args.database:
        _print_assignments(profile.shell_layout(), export=False)
        return 0
    try:
        values = database_env(profile, os.environ)
        values.update(service_account_env(profile, os.environ))
        _print_assignments(values, export=True)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return 0


def _check_port(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.probes import port_in_use
    from playlist_assets.lib.service.profile import PORTS

    profile = _profile()
    port = profile.ports[args.service]
    host = profile.host if args.service == "proxy" else profile.probe_host
    probe = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if port and port_in_use(probe, port):
        print(
            f"{args.service}: port {port} on {host} is already in use "
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


def _door_listen(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service import users
    from playlist_assets.lib.service.profile import BACKEND_HOST, is_loopback

    profile = _profile()
    if users.load(profile.users_file):
        print(profile.host)
        return 0
    if is_loopback(profile.host):
        print(profile.host)
        print(
            "proxy: no users yet, nobody can pass the door. Create an operator: "
            "playlist-assets users add NAME --role operator",
            file=sys.stderr,
        )
        return 0
    print(BACKEND_HOST)
    print(
        f"proxy: no users yet, so the door stays on {BACKEND_HOST} instead of {profile.host}. "
        "Create an operator: playlist-assets users add NAME --role operator; "
        f"then: SERVE_HOST={profile.host} scripts/serve.sh restart proxy",
        file=sys.stderr,
    )
    return 0


def _worker_user() -> str | None:
    """nginx's worker user when started as root (Debian's www-data, else nobody)."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("www-data", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def _nginx_conf(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.nginx import DoorConfig, render
    from playlist_assets.lib.service.profile import TLS_CERT_ENV, TLS_KEY_ENV

    profile = _profile()
    cert, key = os.environ.get(TLS_CERT_ENV), os.environ.get(TLS_KEY_ENV)
    if bool(cert) != bool(key):
        raise CliError(f"TLS needs both {TLS_CERT_ENV} and {TLS_KEY_ENV} (PEM files)")
    for setting, path in ((TLS_CERT_ENV, cert), (TLS_KEY_ENV, key)):
        if path and not os.access(path, os.R_OK):
            raise CliError(f"{setting}={path}: no readable file there")
    from playlist_assets.lib.service.profile import PORTS

    upstreams = dict(item.partition("=")[::2] for item in args.upstream)
    unknown = (set(upstreams) | set(args.without)) - set(PORTS)
    if unknown or not all(upstreams.values()):
        raise CliError(f"--upstream SERVICE=HOST:PORT, SERVICE one of {', '.join(PORTS)}")
    config = DoorConfig(
        upstreams=upstreams,
        listen_host=args.listen,
        tls_cert=Path(cert).resolve() if cert else None,
        tls_key=Path(key).resolve() if key else None,
        worker_user=_worker_user(),
        absent=frozenset(args.without) | (frozenset() if args.api else frozenset({"api"})),
    )
    print(render(profile, config), end="")
    return 0


def _door(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service.door_app import serve

    profile = _profile()
    folder = profile.door_socket.parent
    folder.mkdir(parents=True, exist_ok=True)
    # Only nginx's workers may reach the check: its folder is ours and their group's.
    os.chmod(folder, 0o750)
    worker = _worker_user()
    if worker:
        import pwd

        os.chown(folder, -1, pwd.getpwnam(worker).pw_gid)
    profile.log_dir.mkdir(parents=True, exist_ok=True)
    serve(profile.door_socket, profile.users_file, profile.audit_log)
    return 0


def _mlflow_auth(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service import mlflow_auth

    profile = _profile()
    uri = os.environ.get(mlflow_auth.AUTH_DB_ENV)
    if not uri:
        raise CliError(f"{mlflow_auth.AUTH_DB_ENV} is not set")
    # MLflow itself creates the service account (its admin) from MLFLOW_AUTH_ADMIN_* at start.
    mlflow_auth.write_config(profile.mlflow_auth_config, uri)
    return 0
