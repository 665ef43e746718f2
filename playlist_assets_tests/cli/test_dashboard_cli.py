"""``playlist-assets dashboard``: arguments, clear errors, and the Voila command it hands over to."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import pytest

from playlist_assets.cli import CliError
from playlist_assets.cli import dashboard as cli_dashboard


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="playlist-assets")
    cli_dashboard.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["dashboard", *argv])


def test_defaults_are_local_and_open_a_browser() -> None:
    args = _parse()
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", 8866, False)


class FakeVoila:
    """Records how Voila was started; its pre-heated kernel signals ready at once."""

    started: list[FakeVoila] = []

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv, self.env, self.returncode = argv, env, None
        Path(env["PLAYLIST_DASHBOARD_READY_FILE"]).touch()
        FakeVoila.started.append(self)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int:
        self.returncode = 0
        return 0

    def send_signal(self, signum: int) -> None:
        self.returncode = -signum

    terminate = lambda self: None  # noqa: E731


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_serves_voila_once_the_kernel_is_ready(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(data_home)
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", ".")  # relative: Voila's kernel runs elsewhere
    monkeypatch.setattr(cli_dashboard.subprocess, "Popen", FakeVoila)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    FakeVoila.started.clear()
    port = _free_port()

    assert cli_dashboard.run(_parse("--port", str(port))) == 0

    (voila,) = FakeVoila.started
    argv = voila.argv
    assert argv[0] == sys.executable and argv[1:3] == ["-m", "voila"]
    assert argv[3].endswith("dashboard.ipynb") and Path(argv[3]).exists()
    assert "--Voila.ip=127.0.0.1" in argv and f"--port={port}" in argv
    assert "--Voila.port_retries=0" in argv  # never silently serve on another port
    assert "--preheat_kernel=True" in argv
    # Voila's lab template minus its CDN stylesheets, found first on JUPYTER_PATH.
    assert "--template=playlist" in argv
    jupyter_data = Path(voila.env["JUPYTER_PATH"].split(os.pathsep)[0])
    assert (jupyter_data / "voila" / "templates" / "playlist" / "index.html.j2").exists()
    assert voila.env["PLAYLIST_ASSETS_HOME"] == str(data_home.resolve())
    url = f"http://127.0.0.1:{port}/"
    assert f"Serving the dashboard at {url}" in capsys.readouterr().out
    assert opened == [url]
    # The readiness signal lived in a temporary folder that is gone.
    assert not Path(voila.env["PLAYLIST_DASHBOARD_READY_FILE"]).parent.exists()


def test_no_browser_is_honoured(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_dashboard.subprocess, "Popen", FakeVoila)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert cli_dashboard.run(_parse("--port", str(_free_port()), "--no-browser")) == 0
    assert opened == []


def test_a_server_that_dies_at_start_is_a_clear_error(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DeadVoila(FakeVoila):
        def __init__(self, argv: list[str], env: dict[str, str]) -> None:
            self.argv, self.env, self.returncode = argv, env, 1

    monkeypatch.setattr(cli_dashboard.subprocess, "Popen", DeadVoila)
    with pytest.raises(CliError, match="Voila stopped before serving"):
        cli_dashboard.run(_parse("--port", str(_free_port())))


def test_a_busy_port_is_a_clear_error(data_home: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(CliError, match=f"127.0.0.1:{port}.*--port"):
            cli_dashboard.run(_parse("--port", str(port)))


def test_a_port_out_of_range_is_a_clear_error(data_home: Path) -> None:
    with pytest.raises(CliError, match="not a TCP port"):
        cli_dashboard.run(_parse("--port", "70000"))


def test_off_loopback_a_token_is_generated_printed_and_required(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(cli_dashboard.subprocess, "Popen", FakeVoila)
    monkeypatch.delenv("PLAYLIST_DASHBOARD_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTER_TOKEN", "")  # an empty token would mean "no login"
    FakeVoila.started.clear()
    port = _free_port()

    assert cli_dashboard.run(_parse("--host", "0.0.0.0", "--port", str(port), "--no-browser")) == 0

    (voila,) = FakeVoila.started
    token = voila.env["JUPYTER_TOKEN"]
    assert len(token) >= 24
    assert "--Voila.auto_token=True" in voila.argv  # Voila asks for $JUPYTER_TOKEN ...
    assert not [a for a in voila.argv if token in a]  # ... which is not on the command line
    out = capsys.readouterr().out
    assert "not a loopback address: the page asks for a token" in out
    assert f"http://0.0.0.0:{port}/?token={token}" in out


def test_a_chosen_token_is_used_and_kept_from_the_kernels(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(cli_dashboard.subprocess, "Popen", FakeVoila)
    monkeypatch.setenv("PLAYLIST_DASHBOARD_TOKEN", "s3cret-token-of-the-operator")
    FakeVoila.started.clear()
    assert (
        cli_dashboard.run(_parse("--host", "0.0.0.0", "--port", str(_free_port()), "--no-browser"))
        == 0
    )
    (voila,) = FakeVoila.started
    assert voila.env["JUPYTER_TOKEN"] == "s3cret-token-of-the-operator"
    assert "PLAYLIST_DASHBOARD_TOKEN" not in voila.env
    assert "from $PLAYLIST_DASHBOARD_TOKEN" in capsys.readouterr().out


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_token(host: str) -> None:
    assert cli_dashboard.access_token(host) is None


def test_cli_and_dashboard_packages_do_not_import_each_other() -> None:
    import ast

    package = Path(cli_dashboard.__file__).parents[1]
    for this, other in (("cli", "dashboard"), ("dashboard", "cli")):
        for module in (package / this).glob("*.py"):
            tree = ast.parse(module.read_text())
            names = [
                node.module if isinstance(node, ast.ImportFrom) else alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in getattr(node, "names", [])
            ]
            assert not [n for n in names if n and n.startswith(f"playlist_assets.{other}")], module
