"""Champion and challenger arms and ``POST /v1/feedback``, over a real socket: the challenger
appears while the API runs and takes its share of listeners; feedback is checked against the
requests served, written once with the arm and version that served it, and counted."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import httpx
import pytest
from api_harness import Api, launch, promote, stop, tracks_of, wait_for

from playlist_assets.api.feedback import RecentRequests, Served
from playlist_assets.lib.feedback.contract import (
    CHALLENGER,
    CHAMPION,
    FEEDBACK_DIR,
    FEEDBACK_LINE_FIELDS,
    IMPRESSIONS_DIR,
    arm_of,
    read_records,
)
from playlist_assets.lib.recommend import champion

SHARE = 0.5


@pytest.fixture(scope="module")
def api(sample_home: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The API with a challenger share of 0.5; the challenger is installed once it serves."""
    folder = tmp_path_factory.mktemp("api_arms")
    home = folder / "data"
    shutil.copytree(sample_home["home"], home)
    running = launch(home, folder / "api.log", "--challenger-share", str(SHARE))
    try:
        assert running.wait_ready()["challenger"] is None
        promote(home, "rec-c", champion.CHALLENGER)  # what recommendation_eval keeps
        wait_for(
            lambda: (
                (httpx.get(f"{running.url}/readyz").json()["challenger"] or {}).get("model_version")
                == "rec-c"
            ),
            60,
            "the challenger to be loaded",
            running.log,
        )
    except BaseException:
        stop(running)
        raise
    yield running
    stop(running)


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    with api.client() as c:
        yield c


def _lines(api: Api, kind: str) -> list[dict]:
    folder = api.log.parent / "data" / "landing" / kind
    hours = sorted(folder.iterdir()) if folder.is_dir() else []
    return [r for hour in hours for r in read_records(hour)]


def _recommend(client: httpx.Client, sample_home: dict, user: str) -> dict:
    body = {"seeds": tracks_of(sample_home, 4)[:4], "k": 5, "user": user}
    answer = client.post("/v1/recommendations", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_each_listener_keeps_an_arm_and_the_challenger_serves_its_share(
    api: Api, client: httpx.Client, sample_home: dict
) -> None:
    users = [f"listener-{i}" for i in range(16)]
    answers = {u: _recommend(client, sample_home, u) for u in users}
    for user, answer in answers.items():
        assert answer["arm"] == arm_of(user, SHARE)
        if answer["arm"] == CHALLENGER:
            assert answer["model_version"] == "rec-c"
        else:
            assert answer["model_version"].startswith("candidate-")
    assert {a["arm"] for a in answers.values()} == {CHAMPION, CHALLENGER}
    again = _recommend(client, sample_home, users[0])
    assert again["arm"] == answers[users[0]]["arm"]  # stable per listener
    served = {r["request_id"]: r for r in _lines(api, IMPRESSIONS_DIR)}
    for answer in answers.values():
        line = served[answer["request_id"]]
        assert (line["arm"], line["model_version"]) == (answer["arm"], answer["model_version"])
    page = client.get("/metrics").text
    assert 'arm="challenger",classifier_version="1",model_version="rec-c"' in page


def test_feedback_is_written_once_with_the_arm_that_served_it(
    api: Api, client: httpx.Client, sample_home: dict
) -> None:
    user = next(f"fan-{i}" for i in range(100) if arm_of(f"fan-{i}", SHARE) == CHALLENGER)
    answer = _recommend(client, sample_home, user)
    rid, song = answer["request_id"], answer["songs"][1]["id"]
    event = {"request_id": rid, "track_id": f"spotify:track:{song}", "event": "added"}
    first = client.post("/v1/feedback", json=event)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 1 and first.json()["events"][0]["outcome"] == "accepted"
    repeat = client.post("/v1/feedback", json=[event, {**event, "event": "played"}])
    assert repeat.status_code == 200
    assert [e["outcome"] for e in repeat.json()["events"]] == ["duplicate", "accepted"]
    mine = [r for r in _lines(api, FEEDBACK_DIR) if r["request_id"] == rid]
    assert [(r["track_id"], r["event"]) for r in mine] == [(song, "added"), (song, "played")]
    assert tuple(mine[0]) == FEEDBACK_LINE_FIELDS  # what served it comes from the impression
    assert mine[0]["user"] == user and mine[0]["time"].endswith("Z")
    page = client.get("/metrics").text
    accepted = 'playlist_api_feedback_events_total{arm="challenger",event="added",outcome='
    assert accepted + '"accepted"} 1.0' in page and accepted + '"duplicate"} 1.0' in page


def test_bad_feedback_is_refused_with_a_reason_and_nothing_written(
    api: Api, client: httpx.Client, sample_home: dict
) -> None:
    answer = _recommend(client, sample_home, "critic")
    rid, shown = answer["request_id"], answer["songs"][0]["id"]
    before = len(_lines(api, FEEDBACK_DIR))
    good = {"request_id": rid, "track_id": shown, "event": "liked"}

    def refused(body, status: int, field: str) -> dict:
        reply = client.post("/v1/feedback", json=body)
        assert reply.status_code == status, reply.text
        assert reply.json()["error"]["field"] == field, reply.text
        return reply.json()["error"]

    refused({**good, "event": "loved"}, 422, "event")
    refused([good, {**good, "event": "loved"}], 422, "[1].event")
    assert "not served" in refused({**good, "request_id": "f" * 32}, 404, "request_id")["message"]
    not_shown = refused({**good, "track_id": "0FreshSong0000000000AA"}, 422, "track_id")
    assert not_shown["code"] == "not_shown"
    batch = refused([good, {**good, "request_id": "nope"}], 404, "[1].request_id")
    assert [r["index"] for r in batch["rejected"]] == [1]
    refused({**good, "user": "someone-else"}, 422, "user")
    refused([good] * 501, 422, "body")
    refused([], 422, "body")
    assert len(_lines(api, FEEDBACK_DIR)) == before  # a batch with one bad event wrote nothing
    assert client.post("/v1/feedback", json=[good]).json()["accepted"] == 1  # fixed: taken


def test_recent_requests_are_bounded_by_count_and_age() -> None:
    recent = RecentRequests(capacity=2, seconds=60)
    for i in range(3):
        recent.remember(f"r{i}", Served(("a",), None, CHAMPION))
    assert len(recent) == 2
    old = Served(("a",), None, CHAMPION, at=time.monotonic() - 61)
    recent = RecentRequests(capacity=10, seconds=60)
    recent.remember("old", old)
    assert len(recent) == 0
