"""A small data folder shaped like a materialized graph, written directly (no Dagster run).

The dashboard only reads; these tables and MLflow runs follow the contracts of the assets it reads
(warehouse tables in schema ``main``, MLflow runs tagged ``dagster.asset``, a registered model with
the ``champion`` alias), so its tests do not need the whole graph.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from playlist_assets.lib.sample_data.generate import generate_playlists, generate_tracks
from playlist_assets.lib.schema import AUDIO_FEATURES

GENRES = ("jazz", "rock", "pop")


def write_warehouse(warehouse: Path, n_per_genre: int = 40, n_partitions: int = 6) -> pd.DataFrame:
    import duckdb

    songs = generate_tracks(n_per_genre, GENRES, seed=1)
    rng = np.random.default_rng(0)
    hours = pd.date_range("2026-11-01", periods=n_partitions, freq="h")
    new = generate_tracks(4, GENRES, seed=2, stream="replay").head(n_partitions * 2)
    new["partition_hour"] = np.repeat(hours, 2)[: len(new)]
    new["source"] = "replay"
    quarantined = pd.DataFrame(
        {
            "source": [
                "raw_spotify_tracks",
                "raw_spotify_tracks",
                f"new_tracks/{hours[1]:%Y-%m-%d-%H:%M}",
            ],
            "row_number": [3, 17, 1],
            "track_id": ["bad", "6Oq3A4IxlvSU2PQVWb7D3G", "4Kh6cq3XgOGUK9yXQu7RTq"],
            "reason": [
                "track_id is not a 22-character Spotify id",
                "tempo out of range [0, 250]",
                "unknown genre 'k-pop'",
            ],
            "row_json": ["{}", "{}", "{}"],
            "quarantined_at": pd.Timestamp("2026-11-01 03:00"),
        }
    )
    drift = pd.DataFrame(
        [
            {
                "partition_hour": hour,
                "feature": feature,
                "n": 40,
                "psi": float(
                    rng.uniform(0, 0.1)
                    + (
                        0.4
                        if i >= n_partitions - 2 and feature in ("energy", "tempo", "valence")
                        else 0
                    )
                ),
                "ks_statistic": float(rng.uniform(0, 0.3)),
                "ks_pvalue": float(rng.uniform(0, 1)),
                "drifted": bool(
                    i >= n_partitions - 2 and feature in ("energy", "tempo", "valence")
                ),
                "model_version": "1",
            }
            for i, hour in enumerate(hours)
            for feature in AUDIO_FEATURES
        ]
    )
    index = songs.copy()
    index["predicted_genre"] = index["track_genre"]
    index["genre_confidence"] = 0.9
    index["cluster"] = np.arange(len(index)) % 3
    index["cluster_confidence"] = 0.8
    mpd = generate_playlists(songs, 30, seed=3)
    playlists = pd.DataFrame(
        [
            {
                "pid": p["pid"],
                "name": p["name"],
                "pos": t.get("pos", i),
                "track_uri": t["track_uri"],
                "track_id": t["track_uri"].rsplit(":", 1)[-1],
                "artist_name": t.get("artist_name", ""),
                "track_name": t.get("track_name", ""),
            }
            for p in mpd["playlists"]
            for i, t in enumerate(p["tracks"])
        ]
    )
    evaluation = pd.DataFrame(
        {
            "slice": ["all", "all", "all"],
            "strategy": ["hybrid", "popular", "cluster"],
            "playlists": [6, 6, 6],
            "ndcg": [0.53, 0.14, 0.02],
            "r_precision": [0.18, 0.05, 0.007],
            "cosine": [0.88, 0.68, 0.94],
        }
    )
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        for name, frame in {
            "raw_spotify_tracks": songs,
            "validated_songs": songs,
            "new_tracks": new,
            "quarantined_tracks": quarantined,
            "feature_drift": drift,
            "song_index": index,
            "playlists": playlists,
            "recommendation_eval": evaluation,
        }.items():
            con.register("frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE main.{name} AS SELECT * FROM frame")
            con.unregister("frame")
    finally:
        con.close()
    return songs


def write_mlflow(uri: str, artifacts: Path) -> None:
    """Three classifier runs (the second is champion), cluster runs per genre, two eval runs."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    artifacts.mkdir(parents=True, exist_ok=True)
    exp = client.create_experiment("playlist_assets", artifact_location=artifacts.as_uri())
    client.create_registered_model("playlist_genre_classifier")
    labels = list(GENRES)
    for i, (acc, f1) in enumerate([(0.61, 0.60), (0.66, 0.65), (0.64, 0.63)]):
        run = client.create_run(
            exp, run_name="genre_classifier", tags={"dagster.asset": "genre_classifier"}
        )
        run_id = run.info.run_id
        client.log_metric(run_id, "accuracy", acc)
        client.log_metric(run_id, "macro_f1", f1)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "confusion_matrix.json"
            matrix = [[30 + i, 5, 3], [4, 28, 6], [2, 7, 31]]
            path.write_text(json.dumps({"labels": labels, "matrix": matrix}))
            client.log_artifact(run_id, str(path), "evaluation")
        client.set_terminated(run_id)
        version = client.create_model_version(
            "playlist_genre_classifier", f"runs:/{run_id}/model", run_id=run_id
        )
        if i == 1:
            client.set_registered_model_alias(
                "playlist_genre_classifier", "champion", version.version
            )
    for genre, sil in zip(GENRES, (0.21, 0.17, 0.25), strict=True):
        run = client.create_run(
            exp,
            run_name=f"genre_cluster_models/{genre}",
            tags={"dagster.asset": f"genre_cluster_models/{genre}", "genre": genre},
        )
        for name, value in (
            ("silhouette", sil),
            ("calinski_harabasz", 40 + 10 * sil),
            ("davies_bouldin", 1.5 - sil),
        ):
            client.log_metric(run.info.run_id, name, value)
        client.set_terminated(run.info.run_id)
    for j in range(2):
        run = client.create_run(
            exp, run_name="recommendation_eval", tags={"dagster.asset": "recommendation_eval"}
        )
        for strategy, ndcg, cos in (
            ("hybrid", 0.52 + j / 100, 0.9),
            ("popular", 0.14, 0.7),
            ("cluster", 0.02, 0.96),
        ):
            for slice_ in ("all", "cold_start"):
                client.log_metric(run.info.run_id, f"{slice_}.{strategy}.ndcg", ndcg)
                client.log_metric(run.info.run_id, f"{slice_}.{strategy}.r_precision", ndcg / 3)
                client.log_metric(run.info.run_id, f"{slice_}.{strategy}.cosine", cos - j / 50)
        client.log_metric(run.info.run_id, "blend_hybrid.cooc", 6.0)
        client.set_terminated(run.info.run_id)


def build(home: Path) -> Path:
    """Write the stand-in data folder at ``home`` and return it."""
    write_warehouse(home / "warehouse.duckdb")
    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    write_mlflow(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}", home / "mlflow" / "artifacts")
    return home
