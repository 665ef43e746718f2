"""The code location loads, every job resolves, and the asset names of the design stay put."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from playlist_assets.definitions import defs
from playlist_assets.defs.retraining import RETRAIN_ASSET_KEYS
from playlist_assets.settings import DEFAULT_GENRES, HOURLY_SELECTION, UNPARTITIONED_SELECTION

CONTRACT_KEYS = {
    "raw_spotify_tracks",
    "validated_songs",
    "quarantined_tracks",
    "train_songs",
    "test_songs",
    "genre_classifier",
    "song_index",
    *(f"genre_cluster_models/{g}" for g in DEFAULT_GENRES),
}


def _keys() -> set[str]:
    return {key.to_user_string() for key in defs.resolve_all_asset_keys()}


CLUSTER_KEYS = {f"genre_cluster_models/{g}" for g in DEFAULT_GENRES}
# Each job: the assets it materializes and the checks that run with them.
EXPECTED_JOBS: dict[str, tuple[set[str], set[str]]] = {
    "hourly_feed_job": ({"new_tracks", "feature_drift"}, {"new_tracks:great_expectations"}),
    "retraining_job": (
        {*RETRAIN_ASSET_KEYS, *CLUSTER_KEYS},
        {"genre_classifier:retrain_settles_drift", "recommendation_eval:recommender_not_worse"},
    ),
    "run_retention_job": (set(), set()),
    "mpd_slices_job": (set(), set()),  # ops: one MPD slice to Parquet per run (defs/playlists.py)
    "promote_challenger_job": (set(), set()),  # an op job: online evidence -> champion file
}


def _job_contents(job: dg.JobDefinition) -> tuple[set[str], set[str]]:
    layer = job.asset_layer
    assets = {key.to_user_string() for key in layer.selected_asset_keys}
    checks = {
        f"{k.asset_key.to_user_string()}:{k.name}" for k in layer.asset_graph.asset_check_keys
    }
    return assets, checks


def test_every_job_resolves_and_selects_the_assets_and_checks_it_should() -> None:
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    jobs = {job.name: job for job in repo.get_all_jobs() if not job.name.startswith("__")}
    assert {name: _job_contents(job) for name, job in jobs.items()} == EXPECTED_JOBS
    assert [node.name for node in jobs["run_retention_job"].graph.nodes] == ["prune_old_runs"]
    # Every schedule and sensor that targets a job targets one of these; every job but the
    # per-slice conversion (launched by hand, a run per slice) is started by one.
    targeted = {s.job_name for s in repo.schedule_defs}
    targeted |= {t.job_name for s in repo.sensor_defs if s.targets for t in s.targets}
    assert targeted == set(jobs) - {"mpd_slices_job", "promote_challenger_job"}  # by hand


def test_design_asset_names_are_present() -> None:
    assert _keys() >= CONTRACT_KEYS


def test_each_genre_cluster_model_is_its_own_asset() -> None:
    spec_keys = [k for k in _keys() if k.startswith("genre_cluster_models/")]
    assert sorted(spec_keys) == sorted(f"genre_cluster_models/{g}" for g in DEFAULT_GENRES)


def test_code_location_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, playlist_assets.definitions; "
        "heavy = [m for m in ('mlflow', 'great_expectations', 'spotipy', 'plotly') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_hourly_selection_is_exactly_the_partitioned_assets() -> None:
    # The scripts and the dashboard select the whole graph as "not tag:cadence=hourly".
    graph = defs.resolve_asset_graph()
    partitioned = {key for key in graph.materializable_asset_keys if graph.get(key).is_partitioned}
    hourly = dg.AssetSelection.from_string(HOURLY_SELECTION).resolve(graph)
    rest = dg.AssetSelection.from_string(UNPARTITIONED_SELECTION).resolve(graph)
    assert hourly == partitioned and {dg.AssetKey("new_tracks")} <= hourly
    assert not rest & partitioned and rest | hourly == graph.materializable_asset_keys
