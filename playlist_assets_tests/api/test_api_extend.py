"""A fresh hour landing while the API serves: its songs are appended to the serving state (not
loaded again), the answers are a full load's, and the ranking processes rank the new state."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from api_harness import tracks_of, wait_for
from test_api_processes import children

from playlist_assets.lib.recommend.load import load_recommender

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="ranking processes are forked (Linux /proc)"
)


def fresh_hour(sample_home: dict, hour: datetime, songs: int) -> pd.DataFrame:
    """``songs`` new songs landed at ``hour`` as ``fresh_songs`` stores them (catalogue songs
    under new ids)."""
    rows = sample_home["index"].head(songs).copy()
    rows["track_id"] = [f"0Fresh{hour:%d%H}{i:012d}" for i in range(songs)]
    rows["predicted_genre"] = rows["track_genre"]
    rows["genre_confidence"] = 1.0
    rows["landed_at"] = pd.Series([hour] * songs, dtype="datetime64[us]")
    rows["missing_features"] = ""
    return rows


def test_a_fresh_hour_is_appended_and_ranked_by_new_processes(
    home: Path, start_api, sample_home: dict
) -> None:
    first_hour = datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    hour = fresh_hour(sample_home, first_hour, 3)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.register("first_hour", hour)
        con.execute("create table main.fresh_songs as select * from first_hour")
    api = start_api(home, "--processes", "2")
    before = api.wait_ready()
    old_children = wait_for(lambda: len(c := children(api.process.pid)) == 2 and c, 20, "2")
    nxt = fresh_hour(sample_home, first_hour + timedelta(hours=1), 4)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.register("next_hour", nxt)
        con.execute("insert into main.fresh_songs select * from next_hour")
    with api.client() as client:
        wait_for(
            lambda: client.get("/readyz").json()["index"]["songs"] == before["index"]["songs"] + 4,
            60,
            "the fresh hour served",
            api.log,
        )
        assert ", extended" in api.log.read_text()  # appended, not loaded again
        new_children = wait_for(
            lambda: len(c := children(api.process.pid)) == 2 and not c & old_children and c,
            60,
            "the new state's ranking processes",
            api.log,
        )
        assert new_children
        full = load_recommender(home)
        seeds = [
            tracks_of(sample_home, 1)[:5],
            [*nxt["track_id"][:2], *tracks_of(sample_home, 2)[:3]],
        ]
        for tracks in seeds:
            for strategy in ("hybrid", "cooccurrence", "cluster"):
                body = {"seeds": tracks, "k": 30, "strategy": strategy}
                answer = client.post("/v1/recommendations", json=body)
                assert answer.status_code == 200, answer.text
                want = full.recommend(tracks, 30, strategy).recommendations
                assert [s["id"] for s in answer.json()["songs"]] == want["track_id"].tolist()
                assert [s["score"] for s in answer.json()["songs"]] == want["score"].tolist()
        song = client.get(f"/v1/songs/{nxt['track_id'].iloc[0]}")
        assert song.status_code == 200 and song.json()["new"] is True
