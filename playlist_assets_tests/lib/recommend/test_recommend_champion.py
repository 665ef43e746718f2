"""Which recommender serves: the first is promoted, a worse one waits as the challenger, and the
command line keeps serving the champion."""

import copy
import pickle

import duckdb
import pytest

from playlist_assets.lib.classifier.artifacts import write_pickle_atomic
from playlist_assets.lib.recommend import champion
from playlist_assets.lib.recommend.load import load_recommender
from playlist_assets.lib.recommend.settings import Blends, SplitSpec
from playlist_assets.lib.recommend.verdict import evaluate_and_promote, version_of

SPEC = SplitSpec(min_catalogue_tracks=5)


@pytest.fixture
def home(world, tmp_path):
    """A data folder as a materialization leaves it (song_index in DuckDB, the model files)."""
    models = tmp_path / "models"
    (models / "genre_cluster_models").mkdir(parents=True)
    index = world["index"]  # noqa: F841 (read by duckdb)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create table main.song_index as select * from index")
    (models / "genre_classifier").write_bytes(pickle.dumps(world["bundle"]))
    for genre, model in world["clusters"].items():
        (models / "genre_cluster_models" / genre).write_bytes(pickle.dumps(model))
    return tmp_path


def candidate(world, home, run_id: str, blends: Blends | None = None):
    """What track_cooccurrence leaves: the co-occurrence with its run, written as the candidate."""
    cooc = copy.copy(world["cooc"])
    cooc.tuning = {"run_id": run_id, "learned_at": f"2026-12-0{len(run_id) % 9}T10:00:00Z"}
    cooc.blends, cooc.spec = blends, SPEC
    write_pickle_atomic(home / "models" / champion.CANDIDATE, cooc)  # as model_io_manager does
    return cooc


def promote(world, home, cooc):
    return evaluate_and_promote(
        world["playlists"],
        world["index"],
        cooc,
        world["bundle"],
        world["clusters"],
        SPEC,
        home / "models",
        strategies=["hybrid", "popular"],
    )


def test_a_worse_recommender_waits_as_the_challenger(world, home):
    first = candidate(world, home, "aaaaaaaa-first")
    outcome = promote(world, home, first)
    assert outcome.promotion.promote and outcome.role == "champion"
    assert load_recommender(home).version == version_of(first)
    # the champion is the candidate's file, linked, not a second copy of it
    served = champion.folder(home / "models") / "champion"
    assert served.stat().st_ino == (home / "models" / champion.CANDIDATE).stat().st_ino

    # a candidate whose warm blend ranks the evidence backwards
    backwards = Blends(warm={"bias": 0.0, "cooc": -5.0, "popularity": -1.0})
    worse = candidate(world, home, "bbbbbbbb-worse", backwards)
    outcome = promote(world, home, worse)
    assert not outcome.promotion.promote and outcome.role == "challenger"
    assert "warm ndcg" in outcome.promotion.reason
    assert outcome.champion_version == version_of(first)
    assert champion.card(home / "models", "challenger").version == version_of(worse)
    # the command line still serves the champion; the challenger is there for a traffic split
    assert load_recommender(home).version == version_of(first)
    assert served.stat().st_ino != (home / "models" / champion.CANDIDATE).stat().st_ino
    held, card = champion.challenger(home / "models")
    assert card.version == version_of(worse) and held.blends == backwards

    # scoring the champion again changes nothing
    again = promote(world, home, first)
    assert again.promotion.promote and "already the champion" in again.promotion.reason


def test_before_any_promotion_the_candidate_serves(world, home):
    candidate(world, home, "cccccccc-only")
    assert champion.card(home / "models", "champion") is None
    assert load_recommender(home).version == "candidate"
