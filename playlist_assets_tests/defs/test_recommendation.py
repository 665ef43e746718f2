"""playlists -> track_cooccurrence -> recommendation_eval, materialized on the sample data."""

import json
import pickle
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from playlist_assets import settings
from playlist_assets.defs.playlists import playlists
from playlist_assets.defs.recommendation import recommendation_eval, track_cooccurrence
from playlist_assets.defs.resources import build_resources
from playlist_assets.defs.training import GENRES, cluster_model_key, genre_output_name

STRATEGIES = {"hybrid", "cooccurrence", "frequent", "popular", "cluster"}


def stand_ins() -> list:
    """song_index and the models, fitted on the sample catalogue the playlists were made from."""
    from playlist_assets.lib.classifier import pipeline as clf
    from playlist_assets.lib.classifier.models import ClassifierBundle, fit_cluster_model
    from playlist_assets.lib.quality.judge import to_typed
    from playlist_assets.lib.recommend.index import build_song_index
    from playlist_assets.lib.sample_data.generate import ensure_sample
    from playlist_assets.lib.tracks_io import read_tracks_csv

    raw = read_tracks_csv(ensure_sample(settings.sample_dir()).tracks_csv)
    songs = to_typed(raw[raw["track_genre"].isin(GENRES)].drop_duplicates("track_id"))
    songs = songs.reset_index(drop=True)
    bundle = ClassifierBundle(
        model=clf.fit_classifier(songs, **clf.DEFAULT_PARAMS),
        feature_columns=list(clf.FEATURE_COLUMNS),
        reference=songs.head(5),
        reference_prediction_mix={},
        metrics={},
    )
    clusters = {g: fit_cluster_model(s, g, 3) for g, s in songs.groupby("track_genre")}
    index = build_song_index(songs, clusters)

    @dg.asset(name="song_index")
    def song_index() -> pd.DataFrame:
        return index

    @dg.asset(name="genre_classifier", io_manager_key="model_io_manager")
    def genre_classifier():
        return bundle

    @dg.multi_asset(
        outs={
            genre_output_name(g): dg.AssetOut(
                key=cluster_model_key(g), io_manager_key="model_io_manager"
            )
            for g in GENRES
        }
    )
    def genre_cluster_models():
        return tuple(clusters[g] for g in GENRES)

    return [song_index, genre_classifier, genre_cluster_models]


def metadata(result, key: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == key:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{key} was not materialized")


def table(name: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(f"select * from main.{name}").df()


def test_recommendation_graph_on_the_sample(data_home: Path) -> None:
    result = dg.materialize(
        [*stand_ins(), playlists, track_cooccurrence, recommendation_eval],
        resources=build_resources(),
    )
    assert result.success

    # playlists: the generated sample, one row per entry, plain text columns in DuckDB
    meta = metadata(result, "playlists")
    assert meta["source_path"].endswith("mpd.slice.sample.json")
    stored = table("playlists")
    assert list(stored.columns) == [
        "pid",
        "name",
        "pos",
        "track_uri",
        "track_id",
        "artist_name",
        "track_name",
    ]
    assert len(stored) == meta["dagster/row_count"] and stored["pid"].nunique() == meta["playlists"]
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where table_name = 'playlists'"
            ).fetchall()
        )
    assert types["track_id"] == "VARCHAR"

    # track_cooccurrence: learned on training playlists only; held-out ones recorded
    with open(settings.models_dir() / "track_cooccurrence", "rb") as fh:
        cooc = pickle.load(fh)
    holdout = set(cooc.split["holdout_pids"].tolist())
    training = set(cooc.split["training_pids"].tolist())
    assert holdout and training and not holdout & training
    assert holdout | training == set(stored["pid"])
    assert cooc.n_playlists == len(training)
    only_held_out = set(stored[stored["pid"].isin(holdout)]["track_id"]) - set(
        stored[stored["pid"].isin(training)]["track_id"]
    )
    assert only_held_out and not only_held_out & set(cooc.items)
    meta = metadata(result, "track_cooccurrence")
    assert meta["holdout_playlists"] == len(holdout)
    assert meta["weights_source"].startswith("chosen on")
    assert {"warm", "cold", "cold_song", "merge"} <= set(meta["blends"])
    assert "cooc" in meta["blends"]["warm"] and meta["validation_ndcg"]["warm"]
    assert 0 < meta["cold_target_share"] < 1
    assert {"cold last", "merged"} <= set(meta["merge_validation"])

    # recommendation_eval: every strategy side by side, hybrid ahead of the simple baselines
    meta = metadata(result, "recommendation_eval")
    assert meta["playlists_scored"] >= 30
    for strategy in STRATEGIES:
        assert f"| {strategy} " in meta["table"]
    scores = table("recommendation_eval")
    overall = scores[scores["slice"] == "all"].set_index("strategy")
    assert set(overall.index) == STRATEGIES
    for other in ("popular", "frequent", "cluster"):
        assert overall.loc["hybrid", "ndcg"] > overall.loc[other, "ndcg"]
    cold = scores[scores["slice"] == "simulated_cold_start"].set_index("strategy")
    assert cold.loc["hybrid", "ndcg"] >= cold.loc["cluster", "ndcg"]
    assert meta["hybrid_ndcg"] == pytest.approx(overall.loc["hybrid", "ndcg"])

    # the cold slice: songs stripped from the training rows, brought back by each strategy
    cold_songs = scores[scores["slice"] == "cold_songs"].set_index("strategy")
    assert list(cold_songs.index) == ["hybrid", "cooccurrence", "popular", "random"]
    assert cold_songs[["recall_at_100", "recall_at_500", "ndcg"]].notna().all().all()
    assert (cold_songs["recall_at_500"] >= cold_songs["recall_at_100"]).all()
    assert cold_songs["playlists"].iloc[0] == meta["cold_song_playlists"] > 0
    assert meta["stripped_songs"] > 0
    assert meta["hybrid_cold_recall_at_100"] == pytest.approx(
        cold_songs.loc["hybrid", "recall_at_100"]
    )
    # warm and cold side by side, for the hybrid and its baselines
    assert "warm_ndcg" in meta["side_by_side"] and "cold_recall_at_500" in meta["side_by_side"]
    from playlist_assets.dashboard.data import cold_song_eval

    shown = cold_song_eval()
    assert shown["strategy"].tolist() == list(cold_songs.index)
    assert shown["recall_at_500"].tolist() == pytest.approx(cold_songs["recall_at_500"].tolist())

    # the first recommender is promoted: the champion serves, and the check says why
    assert meta["role"] == "champion" and meta["compared_with"] == "no champion"
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "recommender_not_worse" and check.passed
    card = json.loads((settings.models_dir() / "recommender" / "champion.json").read_text())
    assert card["version"] == meta["recommender_version"] and card["role"] == "champion"

    # MLflow: both runs closed, the metrics and the blends logged
    from mlflow import MlflowClient

    client = MlflowClient(settings.default_mlflow_uri())
    run = client.get_run(meta["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["all.hybrid.ndcg"] == pytest.approx(overall.loc["hybrid", "ndcg"])
    assert "blend_warm.cooc" in run.data.metrics and "blend_cold.frequency" in run.data.metrics
    assert run.data.metrics["cold_songs.hybrid.recall_at_100"] == pytest.approx(
        cold_songs.loc["hybrid", "recall_at_100"]
    )
    assert "blend_merge.cold_bias" in run.data.metrics and run.data.metrics["promoted"] == 1.0
    cooc_run = client.get_run(metadata(result, "track_cooccurrence")["mlflow_run_id"])
    assert cooc_run.info.status == "FINISHED" and "blend_warm.cooc" in cooc_run.data.metrics
    assert "merge.cold_target_share" in cooc_run.data.metrics

    # what the evaluation scored is what the command line serves, playlist by playlist
    assert_eval_is_what_recommend_serves(stored, cooc, overall, data_home)


def assert_eval_is_what_recommend_serves(
    stored: pd.DataFrame, cooc, overall: pd.DataFrame, home: Path
) -> None:
    """The held-out playlists' first halves through ``playlist-assets recommend --input``,
    scored like the evaluation: the same figures, to the last digit."""
    from playlist_assets import cli
    from playlist_assets.lib.recommend.cooccurrence import continuation_cases
    from playlist_assets.lib.recommend.load import read_songs
    from playlist_assets.lib.recommend.metrics import score_list

    songs = read_songs(settings.warehouse_path())
    cases = continuation_cases(
        stored, cooc.split["holdout_pids"], songs["track_id"], min_catalogue_tracks=5
    )
    visible = {
        "playlists": [
            {
                "pid": case.pid,
                "tracks": [
                    {"track_uri": f"spotify:track:{t}", "artist_name": a}
                    for t, a in zip(case.seeds, case.seed_artists, strict=True)
                ],
            }
            for case in cases
        ]
    }
    (home / "visible.json").write_text(json.dumps(visible))
    for strategy in ("hybrid", "cooccurrence"):
        out = home / f"served_{strategy}.jsonl"
        argv = ["recommend", "--input", str(home / "visible.json"), "--k", "500"]
        assert cli.main([*argv, "--strategy", strategy, "--output", str(out)]) == 0
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        served = {line["pid"]: line["recommendations"] for line in lines}
        rows = pd.DataFrame([score_list(served[case.pid], case.targets) for case in cases])
        for metric in ("r_precision", "ndcg", "clicks", "hit_at_10", "hit_at_100"):
            assert rows[metric].mean() == pytest.approx(overall.loc[strategy, metric], abs=1e-12)


def mpd_file(path: Path, pids: list[int]) -> Path:
    document = {
        "info": {"slice": "test"},
        "playlists": [
            {
                "pid": pid,
                "name": f"list {pid}",
                "tracks": [
                    {
                        "track_uri": f"spotify:track:{pid:011d}{j:011d}",
                        "artist_name": "A",
                        "track_name": f"s{j}",
                    }
                    for j in range(4)
                ],
            }
            for pid in pids
        ],
    }
    path.write_text(json.dumps(document))
    return path


def test_playlists_path_comes_from_the_environment_or_config(data_home, tmp_path, monkeypatch):
    monkeypatch.setenv(settings.MPD_PATH_ENV, str(mpd_file(tmp_path / "env.json", [7, 8])))
    result = dg.materialize([playlists], resources=build_resources())
    assert metadata(result, "playlists")["playlists"] == 2
    assert set(table("playlists")["pid"]) == {7, 8}
    config = {"ops": {"playlists": {"config": {"path": str(mpd_file(tmp_path / "c.json", [1]))}}}}
    result = dg.materialize([playlists], resources=build_resources(), run_config=config)
    assert set(table("playlists")["pid"]) == {1}
    assert not (settings.sample_dir() / "mpd.slice.sample.json").exists()


def test_a_malformed_playlists_file_fails_with_its_name(data_home, tmp_path, monkeypatch):
    bad = tmp_path / "broken.json"
    bad.write_text('{"playlists": [{"pid": 1, "tracks": [{"track_uri": "spotify:track:x"')
    monkeypatch.setenv(settings.MPD_PATH_ENV, str(bad))
    result = dg.materialize([playlists], resources=build_resources(), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert str(bad) in failure.description and "malformed JSON" in failure.description


def test_playlists_sharing_no_song_with_the_catalogue_are_reported_not_failed(
    data_home, tmp_path, monkeypatch
):
    monkeypatch.setenv(
        settings.MPD_PATH_ENV, str(mpd_file(tmp_path / "other.json", list(range(40))))
    )
    result = dg.materialize(
        [*stand_ins(), playlists, track_cooccurrence, recommendation_eval],
        resources=build_resources(),
    )
    assert result.success
    assert metadata(result, "track_cooccurrence")["weights_source"].startswith(
        "defaults: 0 validation"
    )
    meta = metadata(result, "recommendation_eval")
    assert meta["playlists_scored"] == 0
    assert meta["table"] == "_no playlist to score_"


# -- fresh songs: a track fed in an hour is recommendable once that hour has run -----------------


def fresh_rows(index: pd.DataFrame, seeds: list[str]) -> tuple[pd.DataFrame, str]:
    """Two new tracks by the playlist's main artist, in its genre and mood; one without audio."""
    from playlist_assets.lib.feeds.hours import NEW_TRACKS_COLUMNS
    from playlist_assets.lib.schema import AUDIO_FEATURES, KAGGLE_COLUMNS

    mine = index[index["track_id"].isin(seeds)]
    artist = mine["artists"].value_counts().index[0]
    like = mine[mine["artists"] == artist]
    row = like.iloc[0][list(KAGGLE_COLUMNS)].copy()
    for feature in ("danceability", "energy", "valence", "tempo", "loudness", "acousticness"):
        row[feature] = float(like[feature].mean())
    fresh = pd.DataFrame([row, row]).reset_index(drop=True)
    fresh["track_id"] = ["FreshTrackFitsTheList1", "FreshTrackNoAudioFeat2"]
    fresh["track_name"] = ["Brand new", "Brand new, no audio"]
    fresh["album_name"] = "Out this hour"
    fresh["popularity"] = 70
    fresh.loc[fresh.index[1], list(AUDIO_FEATURES)] = np.nan
    fresh["source"] = "replay"
    fresh["partition_hour"] = pd.NaT
    return fresh[list(NEW_TRACKS_COLUMNS)].reset_index(drop=True), artist


def feed_stand_in(rows: pd.DataFrame) -> dg.AssetsDefinition:
    from playlist_assets.defs.partitions import hour_window, hourly_partitions

    @dg.asset(
        name="new_tracks",
        partitions_def=hourly_partitions,
        metadata={"partition_expr": "partition_hour"},
    )
    def new_tracks(context: dg.AssetExecutionContext) -> pd.DataFrame:
        start, _ = hour_window(context.partition_key)
        return rows.assign(partition_hour=pd.Series([start] * len(rows), dtype="datetime64[us]"))

    return new_tracks


def test_a_track_fed_in_a_partition_is_recommended_after_its_run_without_retraining(data_home):
    from playlist_assets.defs.fresh import fresh_songs
    from playlist_assets.defs.partitions import hourly_partitions
    from playlist_assets.lib.recommend.load import load_recommender

    models = stand_ins()
    instance = dg.DagsterInstance.ephemeral()
    trained = dg.materialize(
        [*models, playlists, track_cooccurrence], resources=build_resources(), instance=instance
    )
    assert trained.success
    index, stored = table("song_index"), table("playlists")
    model_files = {p: p.stat().st_mtime_ns for p in settings.models_dir().rglob("*") if p.is_file()}
    counts = stored[stored["track_id"].isin(index["track_id"])].groupby("pid").size()
    pid = int(counts.idxmax())
    seeds = stored[stored["pid"] == pid].sort_values("pos")["track_id"].tolist()
    rows, artist = fresh_rows(index, seeds)
    before = load_recommender().recommend(seeds, k=100).track_ids
    assert not set(before) & set(rows["track_id"])

    # Nothing to do until the hour's feed partition exists; then the automation asks for it.
    key = hourly_partitions.get_last_partition_key()
    feed = feed_stand_in(rows)
    graph = [*models, feed, fresh_songs]
    defs = dg.Definitions(assets=graph, resources=build_resources())
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert tick.total_requested == 0
    assert dg.materialize(
        graph, selection=[feed], partition_key=key, resources=build_resources(), instance=instance
    ).success
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert tick.get_requested_partitions(fresh_songs.key) == {key}

    run = dg.materialize(
        graph,
        selection=[fresh_songs],
        partition_key=key,
        resources=build_resources(),
        instance=instance,
    )
    assert run.success
    meta = metadata(run, "fresh_songs")
    assert meta["dagster/row_count"] == 2 and meta["tracks_without_audio_features"] == 1
    assert "FreshTrackNoAudioFeat2" in meta["missing_features"]
    assert "danceability" in meta["missing_features"]
    stored_fresh = table("fresh_songs").set_index("track_id")
    assert stored_fresh.loc["FreshTrackFitsTheList1", "missing_features"] == ""

    # No retrain: the models and song_index are what they were; the recommender now holds both.
    assert {
        p: p.stat().st_mtime_ns for p in settings.models_dir().rglob("*") if p.is_file()
    } == model_files
    assert len(table("song_index")) == len(index)
    # k = 100: the first cold_song_head places stay with the songs the playlists vouch for
    result = load_recommender().recommend(seeds, k=100)
    table_ = result.recommendations.set_index("track_id")
    assert "FreshTrackFitsTheList1" in table_.index, f"main artist {artist}"
    assert table_.loc["FreshTrackFitsTheList1", "new"]
    assert not table_.drop(index=[t for t in rows["track_id"] if t in table_.index])["new"].any()
    ranked = load_recommender().recommend(seeds, k=len(index))
    assert "FreshTrackNoAudioFeat2" in ranked.track_ids
