"""Where the service profile's parts live and listen: one owner for its settings and defaults.

``scripts/serve.sh`` reads these through ``playlist-assets service env`` (shell assignments), so a
port's default or a folder's name is written once, here.

Only the door (nginx) listens on ``SERVE_HOST``; every other part binds 127.0.0.1 and is reached
through the door's routes (``ROUTES``) or not at all (gRPC, Postgres, the door's own check).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from playlist_assets import settings
from playlist_assets.lib import constants

HOST_ENV = "SERVE_HOST"
TLS_CERT_ENV = "SERVE_TLS_CERT"
TLS_KEY_ENV = "SERVE_TLS_KEY"
START_TIMEOUT_ENV = "SERVE_START_TIMEOUT"
PG_PASSWORD_ENV = "PLAYLIST_PG_PASSWORD"
DATABASE_URL_ENV = "DATABASE_URL"
MLFLOW_BACKEND_ENV = "MLFLOW_BACKEND_STORE_URI"
MLFLOW_ARTIFACTS_ENV = "MLFLOW_ARTIFACTS_DESTINATION"

DEFAULT_HOST = "127.0.0.1"
# Where every part but the door listens, whatever SERVE_HOST says.
BACKEND_HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT_S = 300
# The code server, and so every run and sensor it starts, runs this much nicer than the rest: on
# two cores a run's CPU (an evaluation, a promotion) otherwise queued the API's requests behind
# it (p99 at 200 requests/s 100-900 ms across a promotion, 37 ms with the run niced).
# serve.sh's launch_niced applies it; at_run_priority is the same for a Python child.
RUN_NICENESS = 10
PG_USER = "playlist"
# The two databases of the local server: Dagster's storage and MLflow's tracking store.
DAGSTER_DB = "dagster"
MLFLOW_DB = "mlflow"
MLFLOW_AUTH_DB = "mlflow_auth"  # MLflow's users and permissions, beside its tracking store


@dataclass(frozen=True)
class Port:
    """A TCP port of the profile: the setting that moves it and its default."""

    setting: str
    default: int


# Service name -> its TCP port. All but the proxy's are on BACKEND_HOST.
PORTS: dict[str, Port] = {
    "proxy": Port("PROXY_PORT", 8080),  # the door: nginx, on SERVE_HOST
    "webserver": Port("DAGSTER_PORT", 3000),  # the operators' Dagster webserver
    "view": Port("VIEW_PORT", 3001),  # the read-only Dagster webserver (--read-only)
    "code-server": Port("CODE_SERVER_PORT", 4000),
    "mlflow": Port("MLFLOW_PORT", 5000),
    "dashboard": Port("DASHBOARD_PORT", 8866),
    "postgres": Port("POSTGRES_PORT", 5432),
    "api": Port("API_PORT", 8000),  # the recommendation API, once it is part of the profile
}


@dataclass(frozen=True)
class Route:
    """A path of the door: which service answers it and which route policy guards it."""

    prefix: str
    service: str
    policy: str | None  # a route of lib/service/door.ROUTE_ROLES; None: the service checks itself


# The door's paths, most specific first. The prefixes are also the services' own base paths
# (dagster-webserver --path-prefix, mlflow --static-prefix, Voila's base_url).
ROUTES: tuple[Route, ...] = (
    Route("/view/", "view", "viewer"),
    Route("/mlflow/", "mlflow", "viewer"),
    Route("/dashboard/", "dashboard", "viewer"),
    Route("/api/", "api", None),  # bearer API keys, checked by the API itself
    Route("/", "webserver", "operator"),
)
MLFLOW_PREFIX = "/mlflow"
VIEW_PREFIX = "/view"
DASHBOARD_PREFIX = "/dashboard/"


def at_run_priority() -> None:
    """In a child before it executes (``preexec_fn``): what serve.sh's ``launch_niced`` does, a
    session of its own whose scheduling group (the kernel's autogroup) and process are niced."""
    os.setsid()
    with contextlib.suppress(OSError):  # no autogroup in this kernel: the nice below counts
        Path("/proc/self/autogroup").write_text(str(RUN_NICENESS))
    os.nice(RUN_NICENESS)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume others can reach it


@dataclass(frozen=True)
class Profile:
    """The settings of one service profile, resolved from an environment."""

    data_home: Path
    host: str
    ports: dict[str, int]
    start_timeout_s: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Profile:
        env = os.environ if env is None else env
        raw_home = env.get(settings.DATA_HOME_ENV) or ".data"
        ports = {}
        for service, port in PORTS.items():
            value = env.get(port.setting) or str(port.default)
            if not value.isdigit() or not 0 <= int(value) < 65536:
                raise ValueError(f"{port.setting}={value!r} is not a TCP port (0-65535)")
            ports[service] = int(value)
        timeout = env.get(START_TIMEOUT_ENV) or str(DEFAULT_START_TIMEOUT_S)
        if not timeout.isdigit():
            raise ValueError(f"{START_TIMEOUT_ENV}={timeout!r} is not a number of seconds")
        return cls(
            data_home=Path(raw_home).expanduser().resolve(),
            host=env.get(HOST_ENV) or DEFAULT_HOST,
            ports=ports,
            start_timeout_s=int(timeout),
        )

    @property
    def service_dir(self) -> Path:
        return self.data_home / "service"

    @property
    def run_dir(self) -> Path:
        return self.service_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.service_dir / "logs"

    @property
    def pg_data(self) -> Path:
        return self.service_dir / "postgres"

    @property
    def pg_socket_dir(self) -> Path:
        return self.service_dir / "pgsocket"

    @property
    def pg_password_file(self) -> Path:
        """The local server's generated password (mode 600), beside the database it guards."""
        return self.service_dir / "postgres.password"

    @property
    def dagster_home(self) -> Path:
        return self.service_dir / constants.DAGSTER_HOME_DIR

    @property
    def workspace(self) -> Path:
        return self.service_dir / "workspace.yaml"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.service_dir / "mlflow_artifacts"

    @property
    def users_file(self) -> Path:
        """The door's users (``playlist-assets users``): names, roles, argon2id hashes."""
        return self.service_dir / "users.json"

    @property
    def door_socket(self) -> Path:
        """The door's check (door_app.py) listens here, for nginx only: no TCP port."""
        return self.run_dir / "door" / "check.sock"

    @property
    def audit_log(self) -> Path:
        """Logins, failed logins, lock-outs and refused actions, one line each (door + nginx)."""
        return self.log_dir / "audit.log"

    @property
    def nginx_dir(self) -> Path:
        return self.run_dir / "nginx"

    @property
    def mlflow_auth_config(self) -> Path:
        return self.service_dir / "mlflow_auth.ini"

    @property
    def mlflow_password_file(self) -> Path:
        """The runs' MLflow service account password, when MLFLOW_TRACKING_PASSWORD is unset."""
        return self.service_dir / "mlflow-runs.password"

    @property
    def mlflow_secret_key_file(self) -> Path:
        """The key MLflow's auth app signs its CSRF tokens with (MLFLOW_FLASK_SERVER_SECRET_KEY)."""
        return self.service_dir / "mlflow-flask.secret"

    @property
    def proxy_listen_file(self) -> Path:
        """The address the running door listens on (SERVE_HOST, or loopback without users)."""
        return self.run_dir / "proxy.listen"

    def proxy_listen(self) -> str:
        try:
            return self.proxy_listen_file.read_text().strip() or self.host
        except FileNotFoundError:
            return self.host

    @property
    def probe_host(self) -> str:
        return BACKEND_HOST

    def url(self, service: str, path: str = "") -> str:
        """The loopback URL of a backend service (not the door's)."""
        return f"http://{BACKEND_HOST}:{self.ports[service]}{path}"

    def shell_layout(self) -> dict[str, str]:
        """What serve.sh needs before any secret exists: folders, host, ports, timeout."""
        layout = {
            settings.DATA_HOME_ENV: str(self.data_home),
            "SERVICE_DIR": str(self.service_dir),
            "RUN_DIR": str(self.run_dir),
            "LOG_DIR": str(self.log_dir),
            "PG_DATA": str(self.pg_data),
            "PG_SOCKET_DIR": str(self.pg_socket_dir),
            "PG_PASSWORD_FILE": str(self.pg_password_file),
            "PG_USER": PG_USER,
            "MLFLOW_PASSWORD_FILE": str(self.mlflow_password_file),
            "MLFLOW_SECRET_KEY_FILE": str(self.mlflow_secret_key_file),
            "USERS_FILE": str(self.users_file),
            "NGINX_DIR": str(self.nginx_dir),
            "PROXY_LISTEN_FILE": str(self.proxy_listen_file),
            settings.DAGSTER_HOME_ENV: str(self.dagster_home),
            "WORKSPACE": str(self.workspace),
            "HOST": self.host,
            "BACKEND_HOST": BACKEND_HOST,
            "START_TIMEOUT": str(self.start_timeout_s),
            "RUN_NICENESS": str(RUN_NICENESS),
        }
        layout.update({PORTS[s].setting: str(p) for s, p in self.ports.items()})
        return layout


def local_password(profile: Profile, env: Mapping[str, str]) -> str | None:
    """The local server's password: ``$PLAYLIST_PG_PASSWORD``, else the generated one, if any."""
    if env.get(PG_PASSWORD_ENV):
        return env[PG_PASSWORD_ENV]
    try:
        return profile.pg_password_file.read_text().strip() or None
    except FileNotFoundError:
        return None


def database_env(profile: Profile, env: Mapping[str, str]) -> dict[str, str]:
    """The environment every service process gets: Dagster's and MLflow's stores, where runs log.

    ``DATABASE_URL`` names an existing server; without it, the local one (its password must
    exist: generated at initdb, or ``$PLAYLIST_PG_PASSWORD``).
    """
    from playlist_assets.lib.service import mlflow_auth, postgres

    if env.get(DATABASE_URL_ENV):
        database_url = postgres.sqlalchemy_url(env[DATABASE_URL_ENV])
    else:
        password = local_password(profile, env)
        if password is None:
            raise ValueError(
                f"no password for the local Postgres: set {PG_PASSWORD_ENV} or start the "
                f"profile once (it generates {profile.pg_password_file})"
            )
        database_url = postgres.local_url(
            PG_USER, password, profile.probe_host, profile.ports["postgres"], DAGSTER_DB
        )
    backend = env.get(MLFLOW_BACKEND_ENV) or postgres.sibling_database(database_url, MLFLOW_DB)
    return {
        DATABASE_URL_ENV: database_url,
        MLFLOW_BACKEND_ENV: backend,
        mlflow_auth.AUTH_DB_ENV: env.get(mlflow_auth.AUTH_DB_ENV)
        or postgres.sibling_database(database_url, MLFLOW_AUTH_DB),
        MLFLOW_ARTIFACTS_ENV: env.get(MLFLOW_ARTIFACTS_ENV) or str(profile.mlflow_artifacts),
        # Runs launched by the code server log to the MLflow server (under the door's prefix),
        # and the links in asset metadata open it through the door, on whatever host it has.
        settings.MLFLOW_URI_ENV: profile.url("mlflow", MLFLOW_PREFIX),
        settings.MLFLOW_UI_URL_ENV: MLFLOW_PREFIX,
        mlflow_auth.CONFIG_ENV: str(profile.mlflow_auth_config),
    }


def _secret(env: Mapping[str, str], setting: str, generated: Path) -> str:
    """A secret from the environment, else the one generated at the first start (mode 600)."""
    if env.get(setting):
        return env[setting]
    try:
        return generated.read_text().strip()
    except FileNotFoundError:
        raise ValueError(
            f"{setting} is not set and {generated} does not exist yet: start the profile once "
            "(scripts/serve.sh start generates it)"
        ) from None


def service_account_env(profile: Profile, env: Mapping[str, str]) -> dict[str, str]:
    """The MLflow service account the runs log with (MLflow bootstraps it as its admin), and the
    key MLflow's auth app signs its forms with."""
    from playlist_assets.lib.service import mlflow_auth

    name = env.get(mlflow_auth.USERNAME_ENV) or mlflow_auth.DEFAULT_SERVICE_ACCOUNT
    password = _secret(env, mlflow_auth.PASSWORD_ENV, profile.mlflow_password_file)
    return {
        mlflow_auth.USERNAME_ENV: name,
        mlflow_auth.PASSWORD_ENV: password,
        "MLFLOW_AUTH_ADMIN_USERNAME": name,
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        mlflow_auth.SECRET_KEY_ENV: _secret(
            env, mlflow_auth.SECRET_KEY_ENV, profile.mlflow_secret_key_file
        ),
    }
