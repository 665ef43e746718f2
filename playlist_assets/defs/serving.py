"""``song_index``: what serving needs for every song — features, genre, cluster."""

import dagster as dg
import pandas as pd

from playlist_assets.defs.training import SERVING_MODEL_INS
from playlist_assets.lib.models import ClassifierBundle, ClusterModel
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
    validated_songs: pd.DataFrame,
    genre_classifier: ClassifierBundle,
    **cluster_models: ClusterModel,
) -> dg.Output[pd.DataFrame]:
    """Every song of the base with the champion classifier's genre and its cluster, for serving."""
    models = {m.genre: m for m in cluster_models.values()}
    index = build_song_index(validated_songs, genre_classifier, models)
    agreement = (
        float((index["predicted_genre"] == index["track_genre"]).mean()) if len(index) else 0.0
    )
    return dg.Output(
        index,
        metadata={
            "dagster/row_count": len(index),
            "classifier_version": genre_classifier.version or "unregistered",
            "label_agreement": round(agreement, 4),
            "songs_without_cluster": int((index["cluster"] < 0).sum()),
            "clusters_per_genre": dg.MetadataValue.json(
                index.groupby("track_genre")["cluster"].nunique().to_dict()
            ),
            "preview": dg.MetadataValue.md(index.head(10).to_markdown(index=False)),
        },
    )


defs = dg.Definitions(assets=[song_index])
