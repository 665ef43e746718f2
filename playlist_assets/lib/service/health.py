"""What "up" means for each part of the profile, and the wait for it during a start.

One table owns, per service, the probe, what a start waits for and the words of its status line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from playlist_assets.lib.service import probes
from playlist_assets.lib.service.profile import (
    DASHBOARD_PREFIX,
    DATABASE_URL_ENV,
    MLFLOW_PREFIX,
    TLS_CERT_ENV,
    VIEW_PREFIX,
    Profile,
)


@dataclass(frozen=True)
class HealthCheck:
    service: str
    waiting_for: str  # "not <waiting_for> after 300 s"
    healthy: str  # the status line when the probe passes
    unhealthy: str  # ... and when it fails
    probe: Callable[[], bool]


def _http(service: str, url: str, path: str, healthy: str, ok=probes.http_ok) -> HealthCheck:
    return HealthCheck(
        service,
        f"answering on {path}",
        healthy,
        f"NOT answering {path}",
        lambda: ok(url + path),
    )


def _postgres(profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    url = env.get(DATABASE_URL_ENV, "")
    return HealthCheck(
        "postgres",
        "accepting connections",
        f"accepting connections on {profile.probe_host}:{profile.ports['postgres']}",
        "NOT accepting connections",
        lambda: bool(url) and probes.postgres_accepting(url),
    )


def _code_server(profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    host, port = profile.probe_host, profile.ports["code-server"]
    return HealthCheck(
        "code-server",
        "serving gRPC",
        f"gRPC serving on {host}:{port}",
        "gRPC NOT serving",
        lambda: probes.grpc_serving(host, port),
    )


def _daemon(profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    graphql = profile.url("webserver", "/graphql")
    return HealthCheck(
        "daemon",
        "healthy (heartbeats)",
        "healthy (all daemons heartbeating)",
        "NOT healthy (stale heartbeats or webserver down)",
        lambda: probes.unhealthy_daemons(graphql) == [],
    )


def _door(profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    sock = profile.door_socket
    return HealthCheck(
        "door",
        "answering on its socket",
        f"checking logins on {sock}",
        "NOT answering on its socket",
        lambda: probes.unix_http_ok(sock, "/health"),
    )


def _proxy(profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    scheme = "https" if env.get(TLS_CERT_ENV) else "http"
    listen, port = profile.proxy_listen(), profile.ports["proxy"]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen)
    host = f"[{host}]" if ":" in host else host
    return _http(
        "proxy",
        f"{scheme}://{host}:{port}",
        "/",
        f"the door, on {scheme}://{listen}:{port}",
        ok=probes.http_answers,
    )


# Service -> its check. The HTTP ones: where they answer, and what a healthy line says.
CHECKS: dict[str, Callable[[Profile, Mapping[str, str]], HealthCheck]] = {
    "postgres": _postgres,
    "code-server": _code_server,
    "daemon": _daemon,
    "door": _door,
    "proxy": _proxy,
    "mlflow": lambda p, e: _http(
        "mlflow",
        p.url("mlflow", MLFLOW_PREFIX),
        "/health",
        f"healthy on {p.url('mlflow', MLFLOW_PREFIX)}",
    ),
    "webserver": lambda p, e: _http(
        "webserver", p.url("webserver"), "/server_info", f"healthy on {p.url('webserver')}"
    ),
    "view": lambda p, e: _http(
        "view",
        p.url("view", VIEW_PREFIX),
        "/server_info",
        f"read-only, healthy on {p.url('view', VIEW_PREFIX)}",
    ),
    "dashboard": lambda p, e: _http(
        "dashboard",
        p.url("dashboard", DASHBOARD_PREFIX.rstrip("/")),
        "/",
        f"answering on {p.url('dashboard', DASHBOARD_PREFIX)}",
        ok=probes.http_answers,
    ),
    "api": lambda p, e: _http("api", p.url("api"), "/healthz", f"healthy on {p.url('api')}"),
}


def health_check(service: str, profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    """The check of ``service`` in ``profile`` (``env`` gives the Postgres URL and TLS)."""
    if service not in CHECKS:
        raise KeyError(f"no health check for service {service!r}")
    return CHECKS[service](profile, env)


def log_tail(log: Path, lines: int = 3) -> str:
    try:
        return " ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_healthy(
    check: HealthCheck,
    alive: Callable[[], bool],
    timeout_s: float,
    log: Path,
    interval_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Probe until healthy (None); else one line: the process exited, or the time ran out."""
    deadline = clock() + timeout_s
    while not check.probe():
        if not alive():
            return f"{check.service}: exited during start, see {log}: {log_tail(log)}".rstrip(": ")
        if clock() >= deadline:
            return f"{check.service}: not {check.waiting_for} after {timeout_s:.0f}s, see {log}"
        sleep(interval_s)
    return None
