"""Where the service profile's parts live and listen: one owner for its settings and defaults.

``scripts/serve.sh`` reads these through ``playlist-assets service env`` (shell assignments), so a
port's default or a folder's name is written once, here.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from playlist_assets import settings

HOST_ENV = "SERVE_HOST"
START_TIMEOUT_ENV = "SERVE_START_TIMEOUT"
PG_PASSWORD_ENV = "PLAYLIST_PG_PASSWORD"
DATABASE_URL_ENV = "DATABASE_URL"
MLFLOW_BACKEND_ENV = "MLFLOW_BACKEND_STORE_URI"
MLFLOW_ARTIFACTS_ENV = "MLFLOW_ARTIFACTS_DESTINATION"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT_S = 300
PG_USER = "playlist"
# The two databases of the local server: Dagster's storage and MLflow's tracking store.
DAGSTER_DB = "dagster"
MLFLOW_DB = "mlflow"


@dataclass(frozen=True)
class Port:
    """A TCP port of the profile: the setting that moves it and its default."""

    setting: str
    default: int


# Service name -> its port. The webserver, code server, MLflow and Postgres listen on these.
PORTS: dict[str, Port] = {
    "webserver": Port("DAGSTER_PORT", 3000),
    "code-server": Port("CODE_SERVER_PORT", 4000),
    "mlflow": Port("MLFLOW_PORT", 5000),
    "postgres": Port("POSTGRES_PORT", 5432),
}


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
        return self.service_dir / "dagster_home"

    @property
    def workspace(self) -> Path:
        return self.service_dir / "workspace.yaml"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.service_dir / "mlflow_artifacts"

    @property
    def probe_host(self) -> str:
        """Where this machine reaches a service bound to ``host`` (a wildcard means loopback)."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)

    def url(self, service: str, path: str = "") -> str:
        host = f"[{self.probe_host}]" if ":" in self.probe_host else self.probe_host
        return f"http://{host}:{self.ports[service]}{path}"

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
            settings.DAGSTER_HOME_ENV: str(self.dagster_home),
            "WORKSPACE": str(self.workspace),
            "HOST": self.host,
            "START_TIMEOUT": str(self.start_timeout_s),
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
    from playlist_assets.lib.service import postgres

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
        MLFLOW_ARTIFACTS_ENV: env.get(MLFLOW_ARTIFACTS_ENV) or str(profile.mlflow_artifacts),
        # Runs launched by the code server log to the MLflow server, not to a file.
        settings.MLFLOW_URI_ENV: profile.url("mlflow"),
    }
