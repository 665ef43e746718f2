"""Driving ``playlist-assets api`` in its own process on a free loopback port, over HTTP (httpx)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
LISTENING = re.compile(r"listening on (http://\S+)")


def promote(home: Path, version: str, role: str = "champion") -> None:
    """Install the sample's co-occurrence as the recommender ``role`` with its card (what
    ``recommendation_eval`` writes)."""
    from materialized_sample import sample_cooccurrence

    from playlist_assets.lib.recommend import champion

    card = champion.Card(version, f"run-{version}", role, "2026-12-06T00:00:00+00:00", "test")
    champion.install(home / "models", role, sample_cooccurrence(home), card)


def tracks_of(sample: dict, pid: int) -> list[str]:
    frame = sample["playlists"]
    return frame[frame["pid"] == pid].sort_values("pos")["track_id"].tolist()


@dataclass
class Api:
    """A running ``playlist-assets api``: its URL, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path

    def client(self, key: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def log_lines(self) -> list[dict]:
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> dict:
        return wait_for(lambda: _ready(self.url), timeout_s, "the API to be ready", self.log)


def _ready(url: str) -> dict | None:
    answer = httpx.get(f"{url}/readyz", timeout=10)
    return answer.json() if answer.status_code == 200 else None


def wait_for(probe, timeout_s: float, what: str, log: Path | None = None):
    """``probe()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def api_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYLIST_", "SPOTIPY_"))}
    env.update(
        PLAYLIST_ASSETS_HOME=str(home),
        DAGSTER_HOME=str(home / "no_dagster_instance"),
        PLAYLIST_API_POLL_SECONDS="0.3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("playlist-assets")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from playlist_assets.cli import main; main()", *args]


def launch(home: Path, log: Path, *flags: str, **env: str) -> Api:
    """Start ``playlist-assets api --port 0`` on ``home``; return once it listens."""
    with log.open("w") as out:
        process = subprocess.Popen(
            cli_command("api", "--port", "0", *flags),
            env=api_env(home, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = Api("", process, log)

    def listening() -> str | None:
        if process.poll() is not None:
            raise AssertionError(f"the API exited ({process.returncode}):\n{log.read_text()}")
        match = LISTENING.search(log.read_text())
        return match.group(1) if match else None

    try:
        api.url = wait_for(listening, START_TIMEOUT_S, "the API to listen", log)
    except BaseException:
        stop(api)
        raise
    return api


def stop(api: Api) -> None:
    """SIGTERM (uvicorn's graceful stop), then kill if it hangs."""
    if api.process.poll() is None:
        api.process.send_signal(signal.SIGTERM)
        try:
            api.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.process.kill()
            api.process.wait()
