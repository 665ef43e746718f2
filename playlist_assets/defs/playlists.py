"""Recommendation: the playlists, what the hybrid learns from them, and how well it continues them.

- ``playlists``: MPD-format JSON (a slice or a folder of slices, gz allowed) as one long table.
- ``track_cooccurrence``: co-occurrence of every track with the catalogue's songs over the
  TRAINING playlists (a stable hash split by pid; the held-out part is recorded in it), plus the
  hybrid's blend weights chosen on a validation part of the training playlists.
- ``recommendation_eval``: on the held-out playlists, the first half given, 500 songs
  recommended from the catalogue, scored with the RecSys Challenge 2018 metrics and the old
  system's cosine score, for every strategy side by side (and for cold-start playlists).
"""

import os
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.resources import MlflowTracker
from playlist_assets.defs.training import GENRES, cluster_model_key, genre_output_name
from playlist_assets.lib.cooccurrence import (
    HOLDOUT,
    SPLIT_SALT,
    TRAIN,
    VALIDATION,
    TrackCooccurrence,
    continuation_cases,
    learn_cooccurrence,
    split_playlists,
)
from playlist_assets.lib.models import ClassifierBundle, ClusterModel

GROUP = "recommendation"
OWNERS = ["team:ml-engineering"]
METRICS = ("r_precision", "ndcg", "clicks", "hit_at_10", "hit_at_100", "cosine")
MODEL_INS = {
    "genre_classifier": dg.AssetIn(),
    **{f"clusters_{genre_output_name(g)}": dg.AssetIn(key=cluster_model_key(g)) for g in GENRES},
}


class PlaylistsConfig(dg.Config):
    path: str | None = Field(
        default=None,
        description=(
            "MPD slice (.json or .json.gz) or a folder of slices. Empty: $PLAYLIST_MPD_PATH, "
            "else the generated sample under the data folder."
        ),
    )


def resolve_playlists_path(configured: str | None = None) -> Path:
    """Config beats the environment; with neither, the deterministic sample is written on first use."""
    chosen = configured or os.environ.get(settings.MPD_PATH_ENV)
    if chosen:
        return Path(chosen).expanduser()
    from playlist_assets.lib.sample_data import ensure_sample

    return ensure_sample(settings.sample_dir()).playlists_json


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "pandas"},
    owners=OWNERS,
    pool="duckdb",
    tags={"layer": "raw"},
)
def playlists(context: dg.AssetExecutionContext, config: PlaylistsConfig) -> dg.Output:
    """Spotify Million Playlist Dataset playlists, one row per playlist entry
    (pid, name, pos, track_uri, track_id, artist_name, track_name)."""
    from playlist_assets.lib.playlists_io import PlaylistFileError, read_playlists

    path = resolve_playlists_path(config.path)
    try:
        frame = read_playlists(path)
    except PlaylistFileError as exc:
        raise dg.Failure(description=str(exc), metadata={"source_path": str(path)}) from exc
    if frame.empty:
        raise dg.Failure(description=f"{path}: holds no playlist entries")
    offsets = frame.attrs.get("pid_offsets", {})
    for name, offset in offsets.items():
        context.log.warning(f"{name}: pids collide with an earlier slice; shifted by {offset}")
    lengths = frame.groupby("pid", sort=False).size()
    metadata = {
        "source_path": dg.MetadataValue.path(str(path)),
        "files": len(frame.attrs.get("files", [])),
        "dagster/row_count": len(frame),
        "playlists": int(frame["pid"].nunique()),
        "distinct_tracks": int(frame["track_id"].nunique()),
        "median_playlist_length": float(lengths.median()),
        "pid_offsets": dg.MetadataValue.json(offsets),
        "preview": dg.MetadataValue.md(frame.head(10).to_markdown(index=False)),
    }
    # Arrow-backed strings: a fraction of the memory of Python strings, VARCHAR in DuckDB.
    for column in frame.columns[frame.dtypes == "category"]:
        frame[column] = frame[column].astype("string[pyarrow]")
    return dg.Output(frame, metadata=metadata)


class CooccurrenceConfig(dg.Config):
    holdout_fraction: float = Field(
        default=0.2,
        description="Share of playlists held out for recommendation_eval (never learned from).",
    )
    validation_fraction: float = Field(
        default=0.2,
        description="Share of playlists (inside training) the blend weights are chosen on.",
    )
    salt: str = Field(default=SPLIT_SALT, description="Key of the playlist split's hash.")
    min_catalogue_tracks: int = Field(
        default=5,
        description="Playlists with fewer distinct catalogue songs are not used as validation cases.",
    )
    tune_weights: bool = Field(
        default=True,
        description="Choose the blend weights on the validation playlists (else the defaults).",
    )


def _cluster_models(models: dict[str, ClusterModel]) -> dict[str, ClusterModel]:
    return {m.genre: m for m in models.values()}


@dg.asset(
    group_name=GROUP,
    kinds={"scipy", "mlflow"},
    owners=OWNERS,
    pool="duckdb",
    io_manager_key="model_io_manager",
    ins={"playlists": dg.AssetIn(), "song_index": dg.AssetIn(), **MODEL_INS},
)
def track_cooccurrence(
    context: dg.AssetExecutionContext,
    config: CooccurrenceConfig,
    mlflow: MlflowTracker,
    playlists: pd.DataFrame,
    song_index: pd.DataFrame,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[TrackCooccurrence]:
    """Which songs people put together: sparse co-occurrence of every track of the TRAINING
    playlists with the catalogue's songs, and the hybrid's blend weights chosen on validation
    playlists (co-occurrence then learned without them). Held-out playlists are recorded here so
    the evaluation never scores a playlist this was learned from."""
    from playlist_assets.lib.recommend import (
        DEFAULT_COLD_WEIGHTS,
        DEFAULT_WEIGHTS,
        Recommender,
        choose_blend_weights,
    )

    try:
        split = split_playlists(
            playlists["pid"].unique(),
            config.holdout_fraction,
            config.validation_fraction,
            config.salt,
        )
    except ValueError as exc:
        raise dg.Failure(description=f"track_cooccurrence: {exc}") from exc
    catalogue = song_index["track_id"].astype(str).to_numpy()
    training = split.index[split != HOLDOUT]
    if training.empty:
        raise dg.Failure(description="track_cooccurrence: no training playlists (all held out)")
    cooc = learn_cooccurrence(playlists, training, catalogue)
    clusters = _cluster_models(cluster_models)

    cooc.weights, cooc.cold_weights = dict(DEFAULT_WEIGHTS), dict(DEFAULT_COLD_WEIGHTS)
    choices = {}
    validation_cases = 0
    if config.tune_weights:
        cases = continuation_cases(
            playlists,
            split.index[split == VALIDATION],
            catalogue,
            min_catalogue_tracks=config.min_catalogue_tracks,
        )
        validation_cases = len(cases)
        fit_part = split.index[split == TRAIN]
        if len(fit_part) and cases:
            without_validation = learn_cooccurrence(playlists, fit_part, catalogue)
            folds = [
                (Recommender(song_index, without_validation, genre_classifier, clusters), cases)
            ]
            choices = {
                "warm": choose_blend_weights(folds),
                "cold": choose_blend_weights(folds, cold=True),
            }
            cooc.weights = choices["warm"].weights
            cooc.cold_weights = choices["cold"].weights
    if choices:
        note = (
            f"chosen on {validation_cases} validation playlists: "
            f"{choices['warm'].source} (warm), {choices['cold'].source} (cold start)"
        )
    elif config.tune_weights:
        note = f"defaults: {validation_cases} validation playlists, too few to choose on"
    else:
        note = "defaults: tuning off"
    cooc.split = {
        "salt": config.salt,
        "holdout_fraction": config.holdout_fraction,
        "validation_fraction": config.validation_fraction,
        "min_catalogue_tracks": config.min_catalogue_tracks,
        "holdout_pids": np.asarray(split.index[split == HOLDOUT], dtype=np.int64),
        "training_pids": np.asarray(training, dtype=np.int64),
    }
    cooc.tuning = {
        "note": note,
        "validation_cases": validation_cases,
        **{f"{g}_source": c.source for g, c in choices.items()},
    }

    counts = split.value_counts()
    covered = int((cooc.catalogue_playlists > 0).sum())
    with mlflow.start_run(
        run_name="track_cooccurrence",
        tags={"dagster.run_id": context.run_id, "dagster.asset": "track_cooccurrence"},
    ) as run:
        import mlflow as ml

        ml.log_params(
            {
                "holdout_fraction": config.holdout_fraction,
                "validation_fraction": config.validation_fraction,
                "split_salt": config.salt,
                "tune_weights": config.tune_weights,
                "weights_source": note,
            }
        )
        ml.log_metrics(
            {
                "training_playlists": len(training),
                "holdout_playlists": int(counts.get(HOLDOUT, 0)),
                "validation_cases": validation_cases,
                "items": len(cooc.items),
                "catalogue_songs_covered": covered,
                **{
                    f"validation_ndcg.{group}.{name}": value
                    for group, choice in choices.items()
                    for name, value in choice.validation_ndcg.items()
                    if value == value
                },
                **{f"weight_{k}": v for k, v in cooc.weights.items()},
                **{f"cold_weight_{k}": v for k, v in cooc.cold_weights.items()},
            }
        )
    return dg.Output(
        cooc,
        metadata={
            "training_playlists": len(training),
            "validation_playlists": int(counts.get(VALIDATION, 0)),
            "holdout_playlists": int(counts.get(HOLDOUT, 0)),
            "tracks": len(cooc.items),
            "catalogue_songs_in_playlists": covered,
            "catalogue_songs": len(catalogue),
            "track_song_pairs": int(cooc.counts.nnz),
            "weights_source": note,
            "validation_ndcg": dg.MetadataValue.json(
                {
                    g: {n: round(v, 4) for n, v in c.validation_ndcg.items()}
                    for g, c in choices.items()
                }
            ),
            "blend_weights": dg.MetadataValue.json(
                {k: round(v, 4) for k, v in cooc.weights.items()}
            ),
            "cold_start_weights": dg.MetadataValue.json(
                {k: round(v, 4) for k, v in cooc.cold_weights.items()}
            ),
            "top_pairs": dg.MetadataValue.md(cooc.pairs(limit=10).to_markdown(index=False)),
            "mlflow_run_id": run.info.run_id,
        },
    )


class EvalConfig(dg.Config):
    k: int = Field(default=500, description="Songs recommended per playlist (RecSys 2018: 500).")
    strategies: list[str] = Field(
        default=["hybrid", "cooccurrence", "frequent", "popular", "cluster"],
        description="Strategies scored side by side.",
    )


def _markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no playlist to score_"
    shown = table.copy()
    for column in METRICS:
        shown[column] = shown[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.4f}")
    return shown.to_markdown(index=False)


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "pandas", "mlflow"},
    owners=OWNERS,
    pool="duckdb",
    ins={
        "playlists": dg.AssetIn(),
        "song_index": dg.AssetIn(),
        "track_cooccurrence": dg.AssetIn(),
        **MODEL_INS,
    },
)
def recommendation_eval(
    context: dg.AssetExecutionContext,
    config: EvalConfig,
    mlflow: MlflowTracker,
    playlists: pd.DataFrame,
    song_index: pd.DataFrame,
    track_cooccurrence: TrackCooccurrence,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[pd.DataFrame]:
    """Held-out playlists, first half given: how well each strategy finds the catalogue songs of
    the second half (R-precision, NDCG, clicks, hit@10, hit@100 over 500 songs; the old system's
    cosine score on the first 20), for all playlists and for cold-start ones."""
    from playlist_assets.lib.recommend import STRATEGIES, Recommender, evaluate, summarize

    unknown = [s for s in config.strategies if s not in STRATEGIES]
    if unknown:
        raise dg.Failure(
            description=f"unknown strategies {unknown}; choose from {list(STRATEGIES)}"
        )
    split = track_cooccurrence.split
    holdout = set(np.asarray(split.get("holdout_pids", []), dtype=np.int64).tolist())
    leaked = holdout & set(np.asarray(split.get("training_pids", []), dtype=np.int64).tolist())
    if leaked:
        raise dg.Failure(description=f"{len(leaked)} held-out playlists were learned from")
    recommender = Recommender(
        song_index, track_cooccurrence, genre_classifier, _cluster_models(cluster_models)
    )
    cases = continuation_cases(
        playlists,
        holdout,
        recommender.ids,
        min_catalogue_tracks=int(split.get("min_catalogue_tracks", 5)),
    )
    per_case = evaluate(recommender, cases, config.strategies, k=config.k)
    overall = summarize(per_case).assign(slice="all")
    cold = (
        summarize(per_case[per_case["cold_start"]]).assign(slice="cold_start")
        if not per_case.empty
        else overall.iloc[0:0]
    )
    simulated = summarize(
        evaluate(
            recommender,
            cases,
            [s for s in config.strategies if s in ("hybrid", "cluster")],
            k=config.k,
            hide_cooccurrence=True,
        )
    ).assign(slice="simulated_cold_start")
    parts = [t for t in (overall, cold, simulated) if not t.empty]
    if parts:
        table = pd.concat(parts, ignore_index=True)[["slice", "strategy", "playlists", *METRICS]]
    else:
        table = pd.DataFrame({c: pd.Series(dtype=float) for c in METRICS}).assign(
            slice=pd.Series(dtype=str),
            strategy=pd.Series(dtype=str),
            playlists=pd.Series(dtype=int),
        )
    table = table[["slice", "strategy", "playlists", *METRICS]]

    def value(slice_: str, strategy: str, metric: str) -> float | None:
        row = table[(table["slice"] == slice_) & (table["strategy"] == strategy)]
        return None if row.empty else float(row[metric].iloc[0])

    beats = {}
    if "hybrid" in config.strategies:
        others = [s for s in config.strategies if s != "hybrid"]
        for metric in ("r_precision", "ndcg"):
            mine = value("all", "hybrid", metric)
            beats[metric] = bool(
                mine is not None and all(mine > (value("all", s, metric) or 0.0) for s in others)
            )

    with mlflow.start_run(
        run_name="recommendation_eval",
        tags={"dagster.run_id": context.run_id, "dagster.asset": "recommendation_eval"},
    ) as run:
        import mlflow as ml

        ml.log_params(
            {
                "k": config.k,
                "strategies": ",".join(config.strategies),
                "holdout_playlists": len(holdout),
                "weights_source": track_cooccurrence.tuning.get("note", ""),
            }
        )
        metrics = {
            f"{row.slice}.{row.strategy}.{m}": float(getattr(row, m))
            for row in table.itertuples()
            for m in METRICS
            if pd.notna(getattr(row, m))
        }
        metrics["cases"] = len(cases)
        for group, weights in recommender.blend_weights.items():
            metrics.update({f"blend_{group}.{k}": v for k, v in weights.items()})
        ml.log_metrics({k.replace("@", "_"): v for k, v in metrics.items()})
        ml.log_text(_markdown(table), "recommendation_eval.md")

    metadata = {
        "dagster/row_count": len(table),
        "playlists_scored": len(cases),
        "cold_start_playlists": int(per_case["cold_start"].sum() // max(len(config.strategies), 1))
        if not per_case.empty
        else 0,
        "k": config.k,
        "table": dg.MetadataValue.md(_markdown(table)),
        "blend_weights": dg.MetadataValue.json(recommender.blend_weights),
        "mlflow_run_id": run.info.run_id,
    }
    for metric in ("r_precision", "ndcg"):
        hybrid = value("all", "hybrid", metric)
        if hybrid is not None:
            metadata[f"hybrid_{metric}"] = hybrid
        if metric in beats:
            metadata[f"hybrid_ahead_on_{metric}"] = beats[metric]
    return dg.Output(table, metadata=metadata)


defs = dg.Definitions(assets=[playlists, track_cooccurrence, recommendation_eval])
