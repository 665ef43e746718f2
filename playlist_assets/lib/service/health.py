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


def health_check(service: str, profile: Profile, env: Mapping[str, str]) -> HealthCheck:
    """The check of ``service`` in ``profile`` (``env`` gives the Postgres URL)."""
    host = profile.probe_host
    port = profile.ports.get(service)
    if service == "postgres":
        url = env.get(DATABASE_URL_ENV, "")
        return HealthCheck(
            service,
            "accepting connections",
            f"accepting connections on {host}:{port}",
            "NOT accepting connections",
            lambda: bool(url) and probes.postgres_accepting(url),
        )
    if service == "code-server":
        return HealthCheck(
            service,
            "serving gRPC",
            f"gRPC serving on {host}:{port}",
            "gRPC NOT serving",
            lambda: probes.grpc_serving(host, port),
        )
    if service == "mlflow":
        url = profile.url("mlflow", MLFLOW_PREFIX)
        return HealthCheck(
            service,
            "answering on /health",
            f"healthy on {url}",
            "NOT answering /health",
            lambda: probes.http_ok(url + "/health"),
        )
    if service == "webserver":
        url = profile.url("webserver")
        return HealthCheck(
            service,
            "answering on /server_info",
            f"healthy on {url}",
            "NOT answering /server_info",
            lambda: probes.http_ok(url + "/server_info"),
        )
    if service == "daemon":
        graphql = profile.url("webserver", "/graphql")
        return HealthCheck(
            service,
            "healthy (heartbeats)",
            "healthy (all daemons heartbeating)",
            "NOT healthy (stale heartbeats or webserver down)",
            lambda: probes.unhealthy_daemons(graphql) == [],
        )
    if service == "view":
        url = profile.url("view", VIEW_PREFIX)
        return HealthCheck(
            service,
            "answering on /view/server_info",
            f"read-only, healthy on {url}",
            "NOT answering /view/server_info",
            lambda: probes.http_ok(url + "/server_info"),
        )
    if service == "dashboard":
        url = profile.url("dashboard", DASHBOARD_PREFIX)
        return HealthCheck(
            service,
            "answering HTTP",
            f"answering on {url}",
            "NOT answering",
            lambda: probes.http_answers(url),
        )
    if service == "api":
        url = profile.url("api")
        return HealthCheck(
            service,
            "answering on /healthz",
            f"healthy on {url}",
            "NOT answering /healthz",
            lambda: probes.http_ok(url + "/healthz"),
        )
    if service == "door":
        sock = profile.door_socket
        return HealthCheck(
            service,
            "answering on its socket",
            f"checking logins on {sock}",
            "NOT answering on its socket",
            lambda: probes.unix_http_ok(sock, "/health"),
        )
    if service == "proxy":
        scheme = "https" if env.get(TLS_CERT_ENV) else "http"
        listen = profile.proxy_listen()
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen)
        host = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{host}:{profile.ports['proxy']}/"
        return HealthCheck(
            service,
            "answering HTTP",
            f"the door, on {scheme}://{listen}:{profile.ports['proxy']}",
            "NOT answering",
            lambda: probes.http_answers(url),
        )
    raise KeyError(f"no health check for service {service!r}")


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
