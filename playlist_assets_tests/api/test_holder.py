"""The watcher's choice between appending a fresh hour's songs and loading them in full."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from test_api_extend import fresh_hour

from playlist_assets.api.holder import StateHolder
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.versions import Materialization, VersionProbe, Versions
from playlist_assets.lib.recommend import extend
from playlist_assets.lib.recommend.load import load_recommender


def _land(home: Path, sample_home: dict, hour: datetime, songs: int) -> None:
    rows = fresh_hour(sample_home, hour, songs)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.register("hour_rows", rows)
        exists = con.execute(
            "select count(*) from information_schema.tables where table_name = 'fresh_songs'"
        ).fetchone()[0]
        verb = "insert into main.fresh_songs" if exists else "create table main.fresh_songs as"
        con.execute(f"{verb} select * from hour_rows")


def test_a_failing_extension_falls_back_to_a_full_load(
    home: Path,
    sample_home: dict,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    _land(home, sample_home, first, 3)
    calls: list[str] = []

    def broken(current: object, warehouse: Path) -> None:
        calls.append("extend")
        raise RuntimeError("a bug in appending")

    monkeypatch.setattr(extend, "extend_recommender", broken)
    holder = StateHolder(home, VersionProbe(home, None), ApiMetrics(), poll_seconds=60)
    before = Versions(materializations=(Materialization("fresh_songs", "a", 1.0, "h1"),))
    assert holder._load(before) == (True, False)
    served = holder.champion.recommender
    _land(home, sample_home, first + timedelta(hours=1), 4)
    after = Versions(materializations=(Materialization("fresh_songs", "b", 2.0, "h2"),))
    with caplog.at_level(logging.WARNING, "playlist_assets.api"):
        assert holder._load(after, served, before) == (True, False)
    assert calls == ["extend"]
    assert "loading the songs in full" in caplog.text
    assert holder.champion.recommender.n == served.n + 4 == load_recommender(home).n
    assert holder.status.swaps == 2 and holder.status.last_error is None
