"""``song_index``: what serving needs for every song — features, genre, cluster."""

import dagster as dg
import pandas as pd

from playlist_assets.defs.training import SERVING_MODEL_INS
from playlist_assets.lib.classifier.models import ClassifierBundle, ClusterModel
from playlist_assets.lib.constants import DUCKDB_POOL
from playlist_assets.lib.recommend.index import build_song_index

# Songs the champion's label agreement is measured on: a bounded sample, so a promotion does not
# predict every song of a base that grows all year (benchmarks/results/year.md).
LABEL_AGREEMENT_SAMPLE = 20_000


@dg.asset(
    group_name="recommendation",
    kinds={"duckdb", "pandas"},
    owners=["team:ml-engineering"],
    pool=DUCKDB_POOL,
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
    """Every song of the base with its cluster within its genre, for serving, and the champion
    it serves with: its version, and how often it agrees with the base's genre labels on a
    sample (every song's genre is not predicted: serving reads only a playlist's own songs')."""
    models = {m.genre: m for m in cluster_models.values()}
    index = build_song_index(validated_songs, models)
    sample = index.sample(n=min(len(index), LABEL_AGREEMENT_SAMPLE), random_state=0)
    agreement = (
        float((genre_classifier.predict(sample) == sample["track_genre"]).mean())
        if len(sample)
        else 0.0
    )
    return dg.Output(
        index,
        metadata={
            "dagster/row_count": len(index),
            "classifier_version": genre_classifier.version or "unregistered",
            "label_agreement": round(agreement, 4),
            "label_agreement_songs": len(sample),
            "songs_without_cluster": int((index["cluster"] < 0).sum()),
            "clusters_per_genre": dg.MetadataValue.json(
                index.groupby("track_genre")["cluster"].nunique().to_dict()
            ),
            "preview": dg.MetadataValue.md(index.head(10).to_markdown(index=False)),
        },
    )


defs = dg.Definitions(assets=[song_index])
