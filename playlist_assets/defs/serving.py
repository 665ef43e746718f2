"""``song_index``: what serving needs for every song — features, genre, cluster."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets.defs.training import SERVING_MODEL_INS
from playlist_assets.lib.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.quality.store import table_exists
from playlist_assets.lib.recommend_index import build_song_index


@dg.asset(
    group_name="recommendation",
    kinds={"duckdb", "pandas"},
    owners=["team:ml-engineering"],
    pool="duckdb",
    ins={
        "validated_songs": dg.AssetIn(),
        **SERVING_MODEL_INS,
    },
)
def song_index(
    context: dg.AssetExecutionContext,
    warehouse: DuckDBResource,
    validated_songs: pd.DataFrame,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[pd.DataFrame]:
    """Every song of the base with the champion classifier's genre and its cluster, for serving.

    While the champion stays the same, songs it already scored keep their genre: only new or
    changed songs are predicted."""
    models = {m.genre: m for m in cluster_models.values()}
    reuse = _previous_index(context, warehouse, genre_classifier.version)
    index = build_song_index(validated_songs, genre_classifier, models, reuse=reuse)
    agreement = (
        float((index["predicted_genre"] == index["track_genre"]).mean()) if len(index) else 0.0
    )
    return dg.Output(
        index,
        metadata={
            "dagster/row_count": len(index),
            "classifier_version": genre_classifier.version or "unregistered",
            "genres_predicted": index.attrs.get("genres_predicted", len(index)),
            "label_agreement": round(agreement, 4),
            "songs_without_cluster": int((index["cluster"] < 0).sum()),
            "clusters_per_genre": dg.MetadataValue.json(
                index.groupby("track_genre")["cluster"].nunique().to_dict()
            ),
            "preview": dg.MetadataValue.md(index.head(10).to_markdown(index=False)),
        },
    )


def _previous_index(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, version: str | None
) -> pd.DataFrame | None:
    """The stored index, when its latest materialization was scored by classifier ``version``."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    materialization = event.asset_materialization if event else None
    scored_by = materialization.metadata.get("classifier_version") if materialization else None
    if version is None or getattr(scored_by, "value", scored_by) != version:
        return None
    with warehouse.get_connection() as conn:
        if not table_exists(conn, "main.song_index"):
            return None
        return conn.execute("select * from main.song_index").fetch_df()


defs = dg.Definitions(assets=[song_index])
