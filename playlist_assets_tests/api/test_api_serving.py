"""``playlist-assets api`` open on loopback: recommendations, songs, errors, impressions, logs
and metrics, over a real socket."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_harness import Api, launch, stop, tracks_of, wait_for

from playlist_assets.lib.feedback.contract import IMPRESSION_FIELDS, read_records


@pytest.fixture(scope="module")
def api(sample_home: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("api_open")
    home = folder / "data"
    shutil.copytree(sample_home["home"], home)
    running = launch(home, folder / "api.log")
    running.wait_ready()
    yield running
    stop(running)


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    with api.client() as c:
        yield c


def test_start_line_says_the_api_runs_open_on_loopback_only(api: Api, client) -> None:
    text = api.log.read_text()
    assert "OPEN: no API keys" in text and "loopback only" in text
    forwarded = client.get(
        "/v1/songs/4uLU6hMCjMI75M1A2tKUQC", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert forwarded.status_code == 401  # a proxy in front: loopback is not private


def test_recommendations_answer_ranked_songs_with_their_version(
    api: Api, client: httpx.Client, sample_home: dict
) -> None:
    seeds = tracks_of(sample_home, 3)[:6]
    refs = [seeds[0], f"spotify:track:{seeds[1]}", f"https://open.spotify.com/track/{seeds[2]}"]
    answer = client.post(
        "/v1/recommendations", json={"seeds": refs + seeds[3:], "k": 7, "user": "listener-1"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["request_id"] == answer.headers["x-request-id"]
    assert body["model_version"].startswith("candidate-")  # no recommender promoted yet
    assert body["classifier_version"] == "1"
    assert body["arm"] == "champion" and body["strategy"] == "hybrid"
    assert body["index"]["songs"] == len(sample_home["index"])
    assert body["seeds"]["given"] == 6 and body["seeds"]["unknown"] == []
    songs = body["songs"]
    assert [s["rank"] for s in songs] == list(range(1, 8))
    assert set(songs[0]) == {"rank", "id", "name", "artist", "genre", "score", "new"}
    assert not {s["id"] for s in songs} & set(seeds)
    scores = [s["score"] for s in songs]
    assert scores == sorted(scores, reverse=True)

    by_pid = client.post("/v1/recommendations", json={"seeds": ["mpd:3"], "k": 5})
    assert by_pid.status_code == 200
    assert not {s["id"] for s in by_pid.json()["songs"]} & set(tracks_of(sample_home, 3))


def test_a_song_is_looked_up_by_id_uri_or_url(client: httpx.Client, sample_home: dict) -> None:
    row = sample_home["index"].iloc[4]
    for ref in (row["track_id"], f"spotify:track:{row['track_id']}"):
        answer = client.get(f"/v1/songs/{ref}")
        assert answer.status_code == 200
        song = answer.json()
        assert (song["id"], song["name"], song["genre"]) == (
            row["track_id"],
            row["track_name"],
            row["track_genre"],
        )
        assert set(song["features"]) >= {"energy", "valence", "tempo"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"seeds": []}, 422, "seeds"),
        ({}, 422, "seeds"),
        ({"seeds": ["not a track"]}, 422, "seeds[0]"),
        ({"seeds": ["SEED", "spotify:track:nope"]}, 422, "seeds[1]"),
        ({"seeds": ["SEED"], "k": 0}, 422, "k"),
        ({"seeds": ["SEED"], "k": 501}, 422, "k"),
        ({"seeds": ["SEED"], "k": "many"}, 422, "k"),
        ({"seeds": ["SEED"], "strategy": "best"}, 422, "strategy"),
        ({"seeds": ["SEED"], "user": "u" * 129}, 422, "user"),
        ({"seeds": ["SEED"], "kk": 5}, 422, "kk"),
        ({"seeds": ["4uLU6hMCjMI75M1A2tKUQC"]}, 422, "seeds"),  # known nowhere: reported
        ({"seeds": ["mpd:999999"]}, 422, "seeds[0]"),
        ({"seeds": ["mpd:abc"]}, 422, "seeds[0]"),
        ({"seeds": ["https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"]}, 422, "seeds[0]"),
    ],
)
def test_each_bad_input_is_a_4xx_naming_the_field(
    client: httpx.Client, sample_home: dict, body: dict, status: int, field: str
) -> None:
    seed = sample_home["index"]["track_id"].iloc[0]
    if "seeds" in body:
        body = {**body, "seeds": [seed if s == "SEED" else s for s in body["seeds"]]}
    answer = client.post("/v1/recommendations", json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field and error["message"]
    assert "Traceback" not in answer.text


def test_bodies_that_are_not_json_or_too_large_are_refused(client: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    broken = client.post("/v1/recommendations", content=b'{"seeds": [', headers=headers)
    assert broken.status_code == 422 and broken.json()["error"]["field"] == "body"
    huge = client.post("/v1/recommendations", content=b" " * 200_000, headers=headers)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    spotify_playlist_without_credentials = client.post(
        "/v1/recommendations", json={"seeds": ["spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"]}
    )
    assert "SPOTIPY_CLIENT_ID" in spotify_playlist_without_credentials.json()["error"]["message"]
    unknown_song = client.get("/v1/songs/4uLU6hMCjMI75M1A2tKUQC")
    assert unknown_song.status_code == 404 and unknown_song.json()["error"]["field"] == "track_id"
    assert client.get("/v1/songs/nope").status_code == 422
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"


def test_every_served_list_is_an_impression_and_every_request_a_log_line(
    api: Api, client: httpx.Client, sample_home: dict
) -> None:
    seeds = tracks_of(sample_home, 7)[:4]
    answer = client.post(
        "/v1/recommendations", json={"seeds": seeds, "k": 5, "user": "listener-9"}
    ).json()
    folder = Path(api.log.parent) / "data" / "landing" / "impressions"
    rows = [r for hour in folder.iterdir() for r in read_records(hour)]
    mine = [r for r in rows if r["request_id"] == answer["request_id"]]
    assert len(mine) == 1 and tuple(mine[0]) == IMPRESSION_FIELDS
    assert mine[0]["user"] == "listener-9" and mine[0]["seeds"] == seeds
    assert mine[0]["ranked"] == [s["id"] for s in answer["songs"]]
    assert mine[0]["arm"] == "champion" and mine[0]["model_version"] == answer["model_version"]
    assert mine[0]["time"].endswith("Z") and mine[0]["key_id"] is None

    def logged() -> list[dict]:  # the line is written just after the answer is sent
        return [r for r in api.log_lines() if r.get("request_id") == answer["request_id"]]

    lines = wait_for(logged, 10, "the request's log line", api.log)
    assert len(lines) == 1
    assert lines[0]["status"] == 200 and lines[0]["route"] == "/v1/recommendations"
    assert lines[0]["model_version"] == answer["model_version"] and lines[0]["latency_ms"] > 0


def test_health_readiness_and_metrics(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["model_version"].startswith("candidate-")
    assert client.get("/openapi.json").json()["paths"]["/v1/recommendations"]
    client.post("/v1/recommendations", json={"seeds": []})
    page = client.get("/metrics").text
    assert (
        'playlist_api_requests_total{method="POST",route="/v1/recommendations",status="422"}'
        in page
    )
    assert f'model_version="{ready["model_version"]}"' in page
    assert "playlist_api_request_duration_seconds_bucket" in page
    assert "playlist_api_index_songs 200.0" in page
    assert 'playlist_api_swaps_total{outcome="ok"} 1.0' in page
