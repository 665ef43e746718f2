"""Simulated listeners: deterministic, contract lines the hourly reader accepts, the API calls."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb

from playlist_assets.lib.feedback import store
from playlist_assets.lib.feedback.contract import FEEDBACK_DIR, IMPRESSIONS_DIR
from playlist_assets.lib.feedback.lines import load_hour
from playlist_assets.lib.feedback.simulate import (
    Behaviour,
    Listener,
    listeners_from,
    run_api,
    run_offline,
)

LISTENERS = [
    Listener(f"listener-{i}", ("s1", "s2"), frozenset({"a", "c"} if i % 2 else {"b"}))
    for i in range(50)
]
START = datetime(2026, 11, 1, 10)


def rank(arm: str, seeds: tuple[str, ...]) -> tuple[list[str], str]:
    return ["a", "b", "c", "d", "e", "f"], f"v-{arm}"


def test_offline_listeners_write_lines_the_hourly_reader_accepts(tmp_path: Path) -> None:
    how = Behaviour(look=3, noise=0.0)
    tally = run_offline(
        LISTENERS, rank, tmp_path, start=START, rate=0.5, hours=1, how=how, challenger_share=0.5
    )
    again = run_offline(
        LISTENERS,
        rank,
        tmp_path / "again",
        start=START,
        rate=0.5,
        hours=1,
        how=how,
        challenger_share=0.5,
    )
    assert tally.requests == again.requests and sum(tally.requests.values()) == 1800
    assert set(tally.requests) == {"champion", "challenger"}
    end = datetime(2026, 11, 1, 11)
    conn = duckdb.connect()
    impressions = load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, end)
    feedback = load_hour(conn, tmp_path, FEEDBACK_DIR, START, end)
    assert impressions.rejected == 0 and feedback.rejected == 0
    assert impressions.rows == 1800
    versions = conn.execute(f"select distinct model_version from {store.IMPRESSIONS_TABLE}")
    assert {v for (v,) in versions.fetchall()} == {"v-champion", "v-challenger"}
    # odd listeners add a and c, even ones b: what they are shown of their continuation
    added = store.read_hour(conn, store.FEEDBACK_TABLE, START, end).query("event == 'added'")
    odd = added["user"].str.rsplit("-", n=1).str[1].astype(int) % 2 == 1
    assert set(added.loc[odd, "track_id"]) == {"a", "c"} and set(added.loc[~odd, "track_id"]) == {
        "b"
    }


def test_api_mode_posts_recommendations_then_the_reactions() -> None:
    calls: list[tuple[str, object]] = []

    def post(url: str, body, key):  # noqa: ANN001, ANN202 - a stand-in for the HTTP API
        calls.append((url, body))
        if url.endswith("/v1/recommendations"):
            return {
                "request_id": f"r{len(calls)}",
                "arm": "champion",
                "songs": [{"id": t} for t in ("a", "b", "c")],
            }
        assert key == "secret"
        return {"accepted": len(body), "duplicates": 0}

    tally = run_api(
        LISTENERS, "http://api/", key="secret", rate=1000, hours=10 / 3600_000, post=post
    )
    assert tally.requests == {"champion": 10} and tally.failures == 0
    (url, body), (url2, events) = calls[:2]
    assert url == "http://api/v1/recommendations" and body["seeds"] == ["s1", "s2"]
    assert url2 == "http://api/v1/feedback" and {e["event"] for e in events} <= {"added", "skipped"}
    assert all(e["request_id"] == "r1" for e in events)


def test_several_listeners_per_playlist_have_their_own_stable_taste() -> None:
    case = SimpleNamespace(pid=7, seeds=["s1", "s2"], targets=[f"t{i}" for i in range(40)])
    listeners = listeners_from([case], per_playlist=4)
    again = listeners_from([case], per_playlist=4)
    assert [x.user for x in listeners] == [f"listener-7-{j}" for j in range(4)]
    assert listeners == again  # deterministic by listener id
    assert all(x.seeds == ("s1", "s2") and x.playlist == "7" for x in listeners)
    tastes = [x.hidden for x in listeners]
    assert all(t < frozenset(case.targets) and 20 <= len(t) < 40 for t in tastes)
    assert len(set(tastes)) == 4  # each their own share of the playlist's taste
    (one,) = listeners_from([case])
    assert one.user == "listener-7" and one.hidden == frozenset(case.targets)


def test_api_mode_waits_out_a_rate_limit_and_tries_again() -> None:
    from email.message import Message
    from urllib.error import HTTPError

    calls: list[str] = []

    def post(url: str, body, key):  # noqa: ANN001, ANN202 - an API that limits every 2nd call
        calls.append(url)
        if len(calls) % 2 == 0:
            headers = Message()
            headers["Retry-After"] = "0"
            raise HTTPError(url, 429, "Too Many Requests", headers, None)
        if url.endswith("/v1/recommendations"):
            return {"request_id": "r", "arm": "champion", "songs": [{"id": "a"}, {"id": "b"}]}
        return {"accepted": len(body), "duplicates": 0}

    tally = run_api(LISTENERS, "http://api", key=None, rate=1000, hours=4 / 3600_000, post=post)
    assert tally.failures == 0 and tally.requests == {"champion": 4}
