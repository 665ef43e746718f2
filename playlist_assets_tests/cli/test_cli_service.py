"""``playlist-assets service``: what serve.sh reads and the one-line failures it passes on."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

# The console script serve.sh calls, from this interpreter's environment.
CLI = Path(sys.executable).with_name("playlist-assets")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), "service", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_env_is_shell_assignments_bash_can_eval(tmp_path: Path) -> None:
    env = {
        "PLAYLIST_ASSETS_HOME": str(tmp_path / "a b"),
        "PLAYLIST_PG_PASSWORD": "it's $x",
        "MLFLOW_TRACKING_PASSWORD": "runs-pass-123",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "k",
    }
    layout = _cli("env", env=env)
    stores = _cli("env", "--database", env=env)
    assert layout.returncode == 0 and stores.returncode == 0, layout.stderr + stores.stderr
    script = (
        layout.stdout
        + stores.stdout
        + 'printf "%s|%s|%s|%s" "$SERVICE_DIR" "$DAGSTER_PORT" "$DATABASE_URL" '
        + '"$MLFLOW_AUTH_ADMIN_USERNAME"'
    )
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert shown.stdout == (
        f"{tmp_path / 'a b' / 'service'}|3000|"
        "postgresql+psycopg2://playlist:it%27s%20%24x@127.0.0.1:5432/dagster|dagster-runs"
    )


def test_a_taken_port_is_one_line_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _cli("check-port", "mlflow", env={"MLFLOW_PORT": str(port)})
    assert result.returncode == 1
    assert result.stderr == (
        f"mlflow: port {port} on 127.0.0.1 is already in use (set MLFLOW_PORT to another port)\n"
    )


def test_a_bad_setting_is_refused() -> None:
    result = _cli("env", env={"POSTGRES_PORT": "54x"})
    assert result.returncode == 2 and "POSTGRES_PORT='54x' is not a TCP port" in result.stderr


def test_new_secret_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "service" / "postgres.password"
    assert _cli("new-secret", str(path), env={}).returncode == 0
    first = path.read_text()
    assert len(first.strip()) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _cli("new-secret", str(path), env={}).returncode == 0
    assert path.read_text() == first


@pytest.mark.parametrize("service", ["webserver", "code-server"])
def test_health_of_a_stopped_service_says_not(service: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"DAGSTER_PORT": str(port), "CODE_SERVER_PORT": str(port)}
    result = _cli("health", service, env=env)
    assert result.returncode == 1 and "NOT" in result.stdout
