"""Ranking processes (``--processes``): the answers are the recommender's own ranking, a dead
child's share is answered all the same, and a reload replaces the children instead of adding to
them."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from api_harness import promote, tracks_of, wait_for

from playlist_assets.lib.recommend.load import load_recommender

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="ranking processes are forked (Linux /proc)"
)


def children(pid: int) -> set[int]:
    """Live (not zombie) child processes of ``pid``."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


def test_ranking_processes_answer_what_the_recommender_ranks(
    home: Path, start_api, sample_home: dict
) -> None:
    api = start_api(home, "--processes", "2")
    first = api.wait_ready()
    pids = wait_for(
        lambda: (c := children(api.process.pid)) and len(c) == 2 and c, 20, "2 children"
    )
    recommender = load_recommender(home)
    with api.client() as client:
        for pid in range(8):
            tracks = tracks_of(sample_home, pid)[:8]
            for strategy in ("hybrid", "cooccurrence", "cluster"):
                body = {"seeds": tracks, "k": 30, "strategy": strategy}
                answer = client.post("/v1/recommendations", json=body)
                assert answer.status_code == 200, answer.text
                want = recommender.recommend(tracks, 30, strategy).recommendations
                songs = answer.json()["songs"]
                assert [s["id"] for s in songs] == want["track_id"].tolist()
                assert [s["score"] for s in songs] == want["score"].tolist()
        assert "playlist_api_ranking_processes 2.0" in client.get("/metrics").text
        unknown = client.post("/v1/recommendations", json={"seeds": ["0" * 22]})
        assert unknown.status_code == 422  # raised in a child, answered as before
        assert unknown.json()["error"]["field"] == "seeds"

        victim = min(pids)  # a ranking process dies: its share is ranked by the serving one
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in children(api.process.pid), 10, "the child to die")
        for pid in range(8):
            tracks = tracks_of(sample_home, pid)[:8]
            answer = client.post("/v1/recommendations", json={"seeds": tracks, "k": 30})
            assert answer.status_code == 200, answer.text
            want = recommender.recommend(tracks, 30).recommendations["track_id"].tolist()
            assert [s["id"] for s in answer.json()["songs"]] == want
        assert "playlist_api_ranking_processes 1.0" in client.get("/metrics").text

        assert client.post("/v1/admin/reload").status_code == 202
        wait_for(
            lambda: client.get("/readyz").json()["loaded_at"] != first["loaded_at"], 30, "reload"
        )
        after = wait_for(
            lambda: (c := children(api.process.pid)) and len(c) == 2 and not c & pids and c,
            20,
            "the old children to exit and 2 new ones",
            api.log,
        )
        assert len(after) == 2
        again = client.post("/v1/recommendations", json={"seeds": tracks, "k": 30})
        assert again.status_code == 200


def test_a_promotion_is_published_with_its_ranking_processes_already_forked(
    home: Path, start_api, sample_home: dict
) -> None:
    api = start_api(home, "--processes", "2")
    api.wait_ready()
    before = wait_for(
        lambda: (c := children(api.process.pid)) and len(c) == 2 and c, 20, "2 children"
    )
    tracks = tracks_of(sample_home, 4)[:8]
    body = {"seeds": tracks, "k": 30}
    with api.client() as client:
        promote(home, "rec-2")
        promoted = wait_for(
            lambda: (
                (a := client.post("/v1/recommendations", json=body)).json()["model_version"]
                == "rec-2"
                and a
            ),
            60,
            "answers from the promoted recommender",
            api.log,
        )
        # the first answer of the new version already came from its ranking processes: the
        # serving process never ranks in its own threads across a promotion
        assert "playlist_api_ranking_processes 2.0" in client.get("/metrics").text
        assert "forked 2 ranking processes before the swap" in api.log.read_text()
        wait_for(
            lambda: (c := children(api.process.pid)) and len(c) == 2 and not c & before,
            20,
            "the replaced state's children to exit, 2 new ones serving",
            api.log,
        )
        want = load_recommender(home).recommend(tracks, 30).recommendations
        for answer in (promoted, client.post("/v1/recommendations", json=body)):
            songs = answer.json()["songs"]
            assert [s["id"] for s in songs] == want["track_id"].tolist()
            assert [s["score"] for s in songs] == want["score"].tolist()
