"""Is a part of the service profile up? One probe per kind of server, each a bool.

Used by ``playlist-assets service wait`` (start) and ``service health`` (status lines).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

DAEMON_HEALTH_QUERY = (
    "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"
)
# The gRPC health service name the Dagster code server registers (dagster api grpc-health-check).
DAGSTER_GRPC_SERVICE = "DagsterApi"


def port_in_use(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout_s: float = 5.0) -> bool:
    """Whether ``url`` answers a GET with a 2xx/3xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s):
            return True
    except (OSError, urllib.error.URLError):
        return False


def http_answers(url: str, timeout_s: float = 5.0) -> bool:
    """Whether a server answers HTTP at ``url`` at all (a 401 or 404 counts: it is up).

    TLS is not verified: this asks our own server on this machine whether it is up.
    """
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, urllib.error.URLError):
        return False


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout_s: float) -> None:
        super().__init__("localhost", timeout=timeout_s)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def unix_http_ok(socket_path: Path, path: str, timeout_s: float = 5.0) -> bool:
    """Whether the HTTP server on a unix socket answers ``GET path`` with 200."""
    connection = _UnixConnection(socket_path, timeout_s)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def grpc_serving(host: str, port: int, timeout_s: float = 5.0) -> bool:
    """Whether the Dagster code server at ``host:port`` reports SERVING on gRPC health."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=DAGSTER_GRPC_SERVICE), timeout=timeout_s
            )
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def unhealthy_daemons(graphql_url: str, timeout_s: float = 10.0) -> list[str] | None:
    """The required daemons without a fresh heartbeat (empty: all healthy); None if the
    webserver does not answer."""
    request = urllib.request.Request(
        graphql_url,
        json.dumps({"query": DAEMON_HEALTH_QUERY}).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            data = json.load(reply)["data"]
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    if not statuses:
        return ["(no daemon has reported yet)"]
    return [s["daemonType"] for s in statuses if s["required"] and not s["healthy"]]


def postgres_accepting(url: str, timeout_s: int = 5) -> bool:
    """Whether the server of ``url`` accepts this connection (credentials included)."""
    from playlist_assets.lib.service.postgres import check_connection

    return check_connection(url, "", timeout_s=timeout_s) is None
