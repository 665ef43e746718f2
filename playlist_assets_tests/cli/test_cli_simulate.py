"""``simulate-listeners --api``: held-out listeners call the real HTTP API over a socket, and
what the API logs is what the hourly assets read."""

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from materialized_sample import materialize_sample

from playlist_assets.cli import main as cli_main
from playlist_assets.lib.feedback.lines import load_hour

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))
from api_harness import launch, stop  # noqa: E402


def test_listeners_through_the_api_land_as_clean_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home = materialize_sample(tmp_path / "data", tmp_path / "sample.json")["home"]
    monkeypatch.setenv("PLAYLIST_ASSETS_HOME", str(home))
    api = launch(home, tmp_path / "api.log")
    try:
        api.wait_ready()
        argv = ["simulate-listeners", "--api", api.url, "--rate", "20", "--hours", "0.0005"]
        assert cli_main(argv) == 0
    finally:
        stop(api)
    printed = capsys.readouterr().out
    assert "36 requests" in printed and "failed" not in printed, printed

    now = datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    conn, impressions, feedback = duckdb.connect(), 0, 0
    for start in (now - timedelta(hours=1), now):  # the run may straddle the hour
        landing, end = Path(home) / "landing", start + timedelta(hours=1)
        imp = load_hour(conn, landing, "impressions", start, end)
        judged = load_hour(conn, landing, "feedback", start, end)
        assert imp.rejected == 0 and judged.rejected == 0, judged.reasons
        impressions += imp.rows
        feedback += judged.rows
    assert impressions == 36 and feedback == 36 * 5
