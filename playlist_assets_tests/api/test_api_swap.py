"""Readiness and the hot swap: new models are loaded in the background and swapped in while
requests keep being answered, also while a materialization holds the warehouse's lock."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import httpx
import pandas as pd
from api_harness import Api, promote, tracks_of, wait_for

REPO = Path(__file__).resolve().parents[2]


def _hammer(api: Api, body: dict, stop: threading.Event, seen: list) -> None:
    """Ask again and again until ``stop``; record (status, model version) of every answer."""
    with api.client() as client:
        while not stop.is_set():
            try:
                answer = client.post("/v1/recommendations", json=body)
                version = answer.json().get("model_version") if answer.status_code == 200 else None
                seen.append((answer.status_code, version))
            except httpx.HTTPError as exc:
                seen.append((type(exc).__name__, None))


def test_not_ready_until_models_exist_then_a_promotion_swaps_in_under_load(
    tmp_path: Path, start_api, sample_home: dict
) -> None:
    home = tmp_path / "data"
    home.mkdir()
    api = start_api(home, "--rate", "10000", "--burst", "10000")
    with api.client() as client:
        not_ready = wait_for(
            lambda: (
                (r := client.get("/readyz")).status_code == 503 and r.json()["last_error"] and r
            ),
            30,
            "a failed first load",
            api.log,
        )
        assert "missing" in not_ready.json()["last_error"]
        assert client.get("/healthz").status_code == 200
        early = client.post("/v1/recommendations", json={"seeds": ["mpd:1"]})
        assert early.status_code == 503 and early.headers["retry-after"]
        assert early.json()["error"]["code"] == "not_ready"

    shutil.copytree(sample_home["home"], home, dirs_exist_ok=True)  # the first materialization

    candidate = api.wait_ready()["model_version"]
    assert candidate.startswith("candidate-")

    body = {"seeds": tracks_of(sample_home, 6)[:5], "k": 20}
    stop, seen_by = threading.Event(), [[] for _ in range(4)]
    threads = [threading.Thread(target=_hammer, args=(api, body, stop, s)) for s in seen_by]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: sum(map(len, seen_by)) > 20, 30, "requests before the swap")
        promote(home, "rec-2")  # what recommendation_eval writes
        wait_for(
            lambda: any(v == "rec-2" for s in seen_by for _, v in s[-5:]),
            60,
            "answers from the promoted recommender",
            api.log,
        )
        count = sum(map(len, seen_by))
        wait_for(lambda: sum(map(len, seen_by)) > count + 20, 30, "requests after the swap")
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    statuses = Counter(status for s in seen_by for status, _ in s)
    assert set(statuses) == {200}, statuses
    for seen in seen_by:  # each client: the old version, then the new one, never back
        versions = [v for _, v in seen]
        first_new = versions.index("rec-2") if "rec-2" in versions else len(seen)
        assert set(versions[:first_new]) <= {candidate}
        assert set(versions[first_new:]) <= {"rec-2"}
    assert any(v == candidate for s in seen_by for _, v in s)
    with api.client() as client:
        page = client.get("/metrics").text
    assert 'playlist_api_swaps_total{outcome="ok"} 2.0' in page
    assert 'model_version="rec-2"' in page and f'model_version="{candidate}"' not in page
    assert "serving rec-2 (200 songs, kept," in api.log.read_text()  # only the cooc was read


def _fresh_song(sample_home: dict) -> pd.DataFrame:
    """One new song as ``fresh_songs`` stores it (a copy of a catalogue song under a new id)."""
    row = sample_home["index"].head(1).copy()
    row["track_id"] = "0FreshSong0000000000AA"
    row["predicted_genre"] = row["track_genre"]
    row["genre_confidence"] = 1.0
    row["landed_at"] = pd.Timestamp(datetime.now(timezone.utc).replace(tzinfo=None))
    row["missing_features"] = ""
    return row


def test_keeps_answering_while_a_materialization_holds_the_warehouse(
    home: Path, start_api, sample_home: dict
) -> None:
    api = start_api(home)
    before = api.wait_ready()
    fresh = _fresh_song(sample_home)
    new_id = fresh["track_id"].iloc[0]
    body = {"seeds": tracks_of(sample_home, 2)[:4], "k": 10}
    with api.client() as client:
        assert client.get(f"/v1/songs/{new_id}").status_code == 404
        writer = duckdb.connect(str(home / "warehouse.duckdb"))  # a run writing fresh_songs
        try:
            writer.execute("create table main.fresh_songs as select * from fresh")
            wait_for(
                lambda: "locked" in (client.get("/readyz").json()["last_error"] or ""),
                30,
                "a load refused by the lock",
                api.log,
            )
            during = client.post("/v1/recommendations", json=body)
            assert during.status_code == 200
            assert during.json()["model_version"] == before["model_version"]
        finally:
            writer.close()
        song = wait_for(
            lambda: (r := client.get(f"/v1/songs/{new_id}")).status_code == 200 and r.json(),
            60,
            "the fresh song after the lock is released",
            api.log,
        )
        assert song["new"] is True
        assert client.get("/readyz").json()["index"]["songs"] == before["index"]["songs"] + 1
        assert client.post("/v1/recommendations", json=body).status_code == 200


def test_the_dagster_instance_says_when_the_song_index_changed(tmp_path: Path) -> None:
    import dagster as dg

    from playlist_assets.api.versions import VersionProbe

    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    (tmp_path / "warehouse.duckdb").write_bytes(b"")
    probe = VersionProbe(tmp_path, dagster_home)
    before = probe.poll()
    assert before.warehouse  # no materialization recorded yet: the file stamp speaks
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("song_index"))
        first = probe.poll()
        assert first != before and first.warehouse is None
        assert set(first.index_info()) == {"song_index"}
        assert probe.poll() == first  # nothing new: nothing to load
        instance.report_runless_asset_event(
            dg.AssetMaterialization("fresh_songs", partition="2026-11-01-05:00")
        )
        second = probe.poll()
    probe.close()
    assert second != first
    assert second.index_info()["fresh_songs"]["partition"] == "2026-11-01-05:00"
