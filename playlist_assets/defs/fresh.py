"""``fresh_songs``: each hour's new tracks, scored by the serving models, recommendable at once.

A track that lands in hour H is in ``new_tracks`` once H's partition has run. This asset (same
hourly partitions) scores that hour's tracks with the champion classifier and the cluster
models and appends them to ``main.fresh_songs``; ``load_recommender`` reads ``song_index`` plus
the fresh songs it does not hold yet. No retrain, no rebuild of the index: the next retrain
folds the hour into ``song_index`` through ``validated_songs``. It runs by itself: the
``fresh_songs_sensor`` evaluates its automation condition (eager, and only when the feed's
blocking quality checks passed) every 30 seconds.
"""

import dagster as dg
import pandas as pd

from playlist_assets import settings
from playlist_assets.defs.partitions import hour_window, hourly_partitions
from playlist_assets.defs.training import GENRES, SERVING_MODEL_INS
from playlist_assets.lib.classifier.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.constants import DUCKDB_POOL
from playlist_assets.lib.schema import AUDIO_FEATURES

FRESHNESS_CONDITION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, after the hour's blocking checks passed")


def hour_tracks(new_tracks: pd.DataFrame) -> pd.DataFrame:
    """The hour's rows typed as the songs base types them; audio features may be missing.

    The one read of an hour's rows for fresh songs: re-point it when the quality gate stores each
    hour's typed accepted rows.
    """
    from playlist_assets.lib.quality.judge import to_typed

    rows = new_tracks.dropna(subset=["track_id"])
    audio = list(AUDIO_FEATURES)
    # to_typed casts whole columns: type the rest on a copy whose missing audio is filled, then
    # put the audio back as floats so a missing feature stays missing.
    filled = {**{c: 0 for c in audio}, "popularity": 0, "duration_ms": 0, "explicit": False}
    typed = to_typed(rows.fillna(filled))
    typed[audio] = rows[audio].astype(float).to_numpy()
    return typed


@dg.asset(
    partitions_def=hourly_partitions,
    tags=settings.HOURLY_TAGS,
    group_name="recommendation",
    kinds={"duckdb", "pandas"},
    owners=["team:ml-engineering"],
    pool=DUCKDB_POOL,
    metadata={"partition_expr": "landed_at"},
    automation_condition=FRESHNESS_CONDITION,
    ins={
        "new_tracks": dg.AssetIn(),
        **SERVING_MODEL_INS,
    },
)
def fresh_songs(
    context: dg.AssetExecutionContext,
    new_tracks: pd.DataFrame,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[pd.DataFrame]:
    """The hour's new tracks (configured genres) with the serving champion's genre and cluster,
    read by the recommender from the hour they land; ``missing_features`` names what a track
    lacked (the live Spotify feed has no audio features for new apps)."""
    from playlist_assets.lib.recommend.index import score_fresh_tracks

    if len(context.partition_keys) != 1:
        raise dg.Failure(description="fresh_songs scores one hour per run")
    start, _ = hour_window(context.partition_key)
    models = {m.genre: m for m in cluster_models.values()}
    fresh = score_fresh_tracks(hour_tracks(new_tracks), genre_classifier, models, start, GENRES)
    lacking = fresh.loc[fresh["missing_features"] != "", ["track_id", "missing_features"]]
    return dg.Output(
        fresh,
        metadata={
            "dagster/row_count": len(fresh),
            "out_of_scope_rows": len(new_tracks) - len(fresh),
            "tracks_without_audio_features": len(lacking),
            "missing_features": dg.MetadataValue.md(
                lacking.head(20).to_markdown(index=False) if len(lacking) else "_none_"
            ),
            "classifier_version": genre_classifier.version or "unregistered",
        },
    )


fresh_songs_sensor = dg.AutomationConditionSensorDefinition(
    "fresh_songs_sensor",
    target=dg.AssetSelection.assets(fresh_songs),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Scores each hour's new tracks as soon as the hour's feed partition has run.",
)

defs = dg.Definitions(assets=[fresh_songs], sensors=[fresh_songs_sensor])
