"""The profile's settings and health checks: defaults owned once, probes that tell up from down."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from playlist_assets.lib.service import probes
from playlist_assets.lib.service.health import HealthCheck, health_check, wait_healthy
from playlist_assets.lib.service.profile import Profile, database_env


def test_profile_defaults_and_settings(tmp_path: Path) -> None:
    profile = Profile.from_env({"PLAYLIST_ASSETS_HOME": str(tmp_path), "MLFLOW_PORT": "5099"})
    assert profile.ports == {
        "proxy": 8080,
        "webserver": 3000,
        "view": 3001,
        "code-server": 4000,
        "mlflow": 5099,
        "dashboard": 8866,
        "postgres": 5432,
        "api": 8000,
    }
    assert profile.host == "127.0.0.1" and profile.start_timeout_s == 300
    layout = profile.shell_layout()
    assert layout["MLFLOW_PORT"] == "5099" and layout["SERVICE_DIR"] == str(tmp_path / "service")
    with pytest.raises(ValueError, match="DAGSTER_PORT='x'"):
        Profile.from_env({"DAGSTER_PORT": "x"})
    # SERVE_HOST moves the door only: every other service stays on loopback.
    assert Profile.from_env({"SERVE_HOST": "0.0.0.0"}).url("mlflow") == "http://127.0.0.1:5000"


def test_database_env_local_and_external(tmp_path: Path) -> None:
    profile = Profile.from_env({"PLAYLIST_ASSETS_HOME": str(tmp_path), "POSTGRES_PORT": "5544"})
    with pytest.raises(ValueError, match="PLAYLIST_PG_PASSWORD"):
        database_env(profile, {})
    profile.pg_password_file.parent.mkdir(parents=True)
    profile.pg_password_file.write_text("s3cret\n")
    local = database_env(profile, {})
    assert local["DATABASE_URL"] == "postgresql+psycopg2://playlist:s3cret@127.0.0.1:5544/dagster"
    assert local["MLFLOW_BACKEND_STORE_URI"].endswith("@127.0.0.1:5544/mlflow")
    assert local["MLFLOW_AUTH_DATABASE_URI"].endswith("@127.0.0.1:5544/mlflow_auth")
    assert local["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000/mlflow"
    assert local["MLFLOW_UI_URL"] == "/mlflow"  # links open MLflow through the door
    external = database_env(
        profile, {"DATABASE_URL": "postgres://u:p@db/dagster", "MLFLOW_BACKEND_STORE_URI": "x"}
    )
    assert external["DATABASE_URL"] == "postgresql+psycopg2://u:p@db/dagster"
    assert external["MLFLOW_BACKEND_STORE_URI"] == "x"


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path.endswith("/health") else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_probes_tell_up_from_down(http_server: int) -> None:
    assert probes.port_in_use("127.0.0.1", http_server)
    assert probes.http_ok(f"http://127.0.0.1:{http_server}/health")
    assert not probes.http_ok(f"http://127.0.0.1:{http_server}/missing")
    # Neither a webserver's GraphQL nor a gRPC server answers there.
    assert probes.unhealthy_daemons(f"http://127.0.0.1:{http_server}/graphql") is None
    assert not probes.grpc_serving("127.0.0.1", http_server, timeout_s=2)


def test_health_lines_name_where_the_service_listens(http_server: int) -> None:
    profile = Profile.from_env({"MLFLOW_PORT": str(http_server)})
    check = health_check("mlflow", profile, {})
    assert check.probe() and check.healthy == f"healthy on http://127.0.0.1:{http_server}/mlflow"


def test_wait_reports_a_dead_process_or_the_timeout(tmp_path: Path) -> None:
    log = tmp_path / "webserver.log"
    log.write_text("starting\nTraceback\nImportError: no module named x\n")
    down = HealthCheck("webserver", "answering on /server_info", "up", "down", lambda: False)
    clock = iter(range(100))
    dead = wait_healthy(
        down, lambda: False, 30, log, clock=lambda: next(clock), sleep=lambda s: None
    )
    assert dead == (
        f"webserver: exited during start, see {log}: starting Traceback ImportError: no module named x"
    )
    clock = iter(range(100))
    slow = wait_healthy(down, lambda: True, 5, log, clock=lambda: next(clock), sleep=lambda s: None)
    assert slow == f"webserver: not answering on /server_info after 5s, see {log}"
    up = HealthCheck("webserver", "", "up", "down", lambda: True)
    assert wait_healthy(up, lambda: False, 5, log) is None
