"""The loop end to end on the sample data: simulated listeners -> hourly assets -> online
metrics by arm -> a retrain that learns from what they accepted."""

import pickle
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from test_recommendation import stand_ins

from playlist_assets import settings
from playlist_assets.cli import main as cli_main
from playlist_assets.defs.feedback import (
    online_metrics,
    recommendation_feedback,
    recommendation_impressions,
)
from playlist_assets.defs.playlists import playlists
from playlist_assets.defs.recommendation import track_cooccurrence
from playlist_assets.defs.resources import build_resources
from playlist_assets.lib.feedback import store
from playlist_assets.lib.recommend import champion

NO_TUNING = {"ops": {"track_cooccurrence": {"config": {"tune_weights": False}}}}
HOURS = ["2026-11-01-10:00", "2026-11-01-11:00", "2026-11-01-12:00"]


def _cooccurrence() -> object:
    with open(settings.models_dir() / "track_cooccurrence", "rb") as fh:
        return pickle.load(fh)


def _count(cooc, item: str, song: str) -> float:
    items, songs = list(cooc.items), list(cooc.catalogue_ids)
    return float(cooc.counts[items.index(item), songs.index(song)]) if item in items else 0.0


def test_simulated_listeners_reach_metrics_by_arm_and_the_retrain(data_home: Path, capsys) -> None:
    graph = [*stand_ins(), playlists, track_cooccurrence]
    assert dg.materialize(graph, resources=build_resources(), run_config=NO_TUNING).success
    before = _cooccurrence()
    models = settings.models_dir()
    card = champion.Card("v-challenger", "test", champion.CHALLENGER, "2026-11-01", "test")
    champion.install(models, champion.CHALLENGER, before, card)

    argv = ["simulate-listeners", "--offline", "--rate", "0.5", "--hours", "2"]
    argv += ["--start", "2026-11-01T10", "--challenger-share", "0.5", "--noise", "0"]
    assert cli_main([*argv, "--challenger-penalty", "0.6"]) == 0
    printed = capsys.readouterr().out
    assert "challenger:" in printed and "champion:" in printed

    feedback_graph = [recommendation_impressions, recommendation_feedback, online_metrics]
    warehouse = {"warehouse": DuckDBResource(database=str(settings.warehouse_path()))}
    for key in HOURS:
        assert dg.materialize(feedback_graph, partition_key=key, resources=warehouse).success

    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        rejects = con.execute(f"select count(*) from {store.FEEDBACK_REJECTS_TABLE}").fetchone()
        metrics = (
            con.execute(
                f"select arm, sum(impressions) n, sum(accepted_impressions) a "
                f"from {store.METRICS_TABLE} group by arm"
            )
            .df()
            .set_index("arm")
        )
        reactions = con.execute(
            f"select f.track_id, i.seeds, f.event = 'added' as added from {store.FEEDBACK_TABLE} f "
            f"join {store.IMPRESSIONS_TABLE} i using (request_id) "
            "where f.event in ('added', 'skipped')"
        ).df()
    assert rejects == (0,)
    assert metrics["n"].sum() == 3600
    rate = metrics["a"] / metrics["n"]
    assert rate["champion"] > rate["challenger"] > 0  # the handicap shows by arm

    # the retrain takes the reactions in: a (seed, song) pair only ever added rises, one only
    # ever skipped falls, the real playlists stay what they were
    retrain = dg.materialize(
        graph, selection=["track_cooccurrence"], resources=build_resources(), run_config=NO_TUNING
    )
    assert retrain.success
    after = _cooccurrence()
    (event,) = [
        e
        for e in retrain.get_asset_materialization_events()
        if e.asset_key.path[-1] == "track_cooccurrence"
    ]
    assert event.materialization.metadata["feedback_contexts"].value > 0
    per_pair = (
        reactions.explode("seeds")
        .query("seeds in @after.items and seeds != track_id")
        .groupby(["seeds", "track_id"])["added"]
        .agg(["sum", "size"])
    )
    added = per_pair[per_pair["sum"] == per_pair["size"]]["size"].idxmax()
    skipped = per_pair[(per_pair["sum"] == 0) & (per_pair["size"] > 0)]["size"].idxmax()
    assert _count(after, *added) > _count(before, *added)
    assert _count(after, *skipped) < _count(before, *skipped)
    assert after.n_playlists == before.n_playlists
