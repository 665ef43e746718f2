"""MLflow's logins as the door's users command drives them: its config, and its user API called
as the service account (checked against a stand-in server that records the calls)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from playlist_assets.lib.service import mlflow_auth

ADMIN = ("dagster-runs", "runs-password-123")


class FakeMlflow:
    def __init__(self) -> None:
        self.users: dict[str, dict] = {"dagster-runs": {"is_admin": True}}
        self.calls: list[tuple[str, str, dict]] = []


@pytest.fixture
def mlflow() -> Iterator[tuple[str, FakeMlflow]]:
    state = FakeMlflow()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            expected = "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.removeprefix("/mlflow/api/2.0/mlflow/users/")
            state.calls.append((self.command, path.split("?")[0], body))
            name = path.partition("username=")[2] or body.get("username")
            status = 200
            if path.startswith("get") and name not in state.users:
                status = 404
            elif path == "create":
                state.users[name] = {"is_admin": False}
            elif path == "update-admin":
                state.users[name]["is_admin"] = body["is_admin"]
            elif path == "delete":
                status = 200 if state.users.pop(name, None) else 404
            self.send_response(status)
            self.end_headers()

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mlflow", state
    finally:
        server.shutdown()
        server.server_close()


def test_roles_become_mlflow_users(mlflow: tuple[str, FakeMlflow]) -> None:
    url, state = mlflow
    mlflow_auth.set_role_user(url, ADMIN, "ana", "ana-password-12", "operator")
    mlflow_auth.set_role_user(url, ADMIN, "ben", "ben-password-12", "viewer")
    assert state.users["ana"] == {"is_admin": True} and state.users["ben"] == {"is_admin": False}
    assert ("POST", "create", {"username": "ana", "password": "ana-password-12"}) in state.calls
    # An existing user gets the new password and role, not a second account.
    state.calls.clear()
    mlflow_auth.set_role_user(url, ADMIN, "ben", "new-password-12", "operator")
    assert [c[1] for c in state.calls] == ["get", "update-password", "update-admin"]
    assert state.users["ben"] == {"is_admin": True}
    assert mlflow_auth.remove_user(url, ADMIN, "ben") and "ben" not in state.users
    assert not mlflow_auth.remove_user(url, ADMIN, "ben")


def test_a_refusal_or_silence_is_one_line(mlflow: tuple[str, FakeMlflow]) -> None:
    url, _ = mlflow
    with pytest.raises(mlflow_auth.MlflowUsersError, match=r"MLflow refused users/get \(401\)"):
        mlflow_auth.set_role_user(
            url, ("dagster-runs", "wrong"), "ana", "ana-password-12", "viewer"
        )
    with pytest.raises(mlflow_auth.MlflowUsersError, match="does not answer.*serve.sh start"):
        mlflow_auth.remove_user("http://127.0.0.1:9/mlflow", ADMIN, "ana")


def test_config_is_private_and_caches_logins(tmp_path: Path) -> None:
    path = tmp_path / "mlflow_auth.ini"
    mlflow_auth.write_config(path, "postgresql+psycopg2://u:secret@db/mlflow_auth")
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "default_permission = READ" in text and "auth_cache_ttl_seconds = 300" in text
