"""The old system's recommendation rule, kept as the ``cluster`` strategy for comparison.

The old Flask app summarised a playlist (mean audio features), asked the classifier for its
genre, asked that genre's GaussianMixture for its cluster, and returned the cluster's songs. It
returned them unordered; here they come in the old code's order (ascending track id, as
``np.setdiff1d`` gave them), then the rest of the genre, then by popularity, so ranking metrics
are defined and deterministic. Its cosine score (``old_similarity``) is reported beside ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from playlist_assets.lib.recommend.features import Seeds
from playlist_assets.lib.recommend.metrics import OLD_SIMILARITY_FEATURES, feature_cosine
from playlist_assets.lib.recommend.songs import SongTable, one_thread
from playlist_assets.lib.schema import CATEGORICAL_FEATURES

OLD_LIST_LENGTH = 20  # the old system returned at most 20 songs; its cosine score used them
# Integer-coded categories of the songs table (summarised by their most frequent value).
_CATEGORICAL = frozenset({*CATEGORICAL_FEATURES, "explicit", "cluster"})


def _most_frequent(values: pd.Series, key: pd.Series, groups: int) -> np.ndarray:
    """Per group of ``key`` (0..groups-1), the most frequent value (ties: the smallest; a group
    of missing values only: missing)."""
    counts = (
        pd.DataFrame({"group": key, "value": values})
        .dropna()
        .value_counts(sort=False)
        .rename("n")
        .reset_index()
        .sort_values(["group", "n", "value"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("group")
    )
    out = np.full(groups, None, dtype=object)
    out[counts["group"].to_numpy()] = counts["value"].to_numpy(dtype=object)
    return out


class OldClusterMethod:
    """The old rule over a ``SongTable``: (genre, cluster) of a playlist, and its ranking."""

    def __init__(self, table: SongTable) -> None:
        self.table = table
        ids = table.ids.astype(str)
        rank = np.argsort(np.argsort(ids, kind="stable"), kind="stable")
        self.by_id = 1.0 - rank / table.n  # in (0, 1], decreasing with the track id
        self.labels = table.songs["track_genre"].astype(str).to_numpy()
        # songs by ascending id: overall, per genre, per (genre, cluster): a request reads only
        # the first ones of its genre and cluster
        self.id_order = np.argsort(rank, kind="stable")
        groups = pd.DataFrame(
            {"genre": self.labels[self.id_order], "cluster": table.cluster[self.id_order]}
        )
        self.genre_order = {
            g: self.id_order[rows] for g, rows in groups.groupby("genre").indices.items()
        }
        self.cluster_order = {
            (g, int(c)): self.id_order[rows]
            for (g, c), rows in groups.groupby(["genre", "cluster"]).indices.items()
        }
        old = table.songs[list(OLD_SIMILARITY_FEATURES)].to_numpy(dtype=float)
        heard = table.has_audio.any()
        low = np.nan_to_num(np.nanmin(old, axis=0)) if heard else 0.0
        span = np.nan_to_num(np.nanmax(old, axis=0)) - low if heard else 1.0
        self.old_features = np.nan_to_num((old - low) / np.where(span > 0, span, 1.0))

    def _need_models(self) -> None:
        if self.table.classifier is None or not self.table.cluster_models:
            raise ValueError("the cluster strategy needs the genre classifier and cluster models")

    def summaries(self, many: Sequence[Seeds]) -> pd.DataFrame:
        """The old system's summary of each playlist, one row each in order, as a songs table: the
        mean of the audio features; integer-coded categories, flags and text take their most
        frequent value (ties: the smallest). Every playlist must hold a song of the base."""
        songs = self.table.songs
        rows = songs.iloc[np.concatenate([s.songs for s in many])].reset_index(drop=True)
        key = pd.Series(np.repeat(np.arange(len(many)), [len(s.songs) for s in many]))
        summary = {}
        for column in rows.columns:
            values = rows[column]
            if (
                column in _CATEGORICAL
                or not pd.api.types.is_numeric_dtype(values)
                or pd.api.types.is_bool_dtype(values)
            ):
                summary[column] = _most_frequent(values, key, len(many))
            elif pd.api.types.is_integer_dtype(values):
                summary[column] = values.groupby(key).mean().round().to_numpy()
            else:
                summary[column] = values.groupby(key).mean().to_numpy(dtype=float)
        return pd.DataFrame(summary).astype(rows.dtypes.to_dict())

    def choices(self, many: Sequence[Seeds]) -> list[tuple[str, int] | None]:
        """The (genre, cluster) of each playlist: the classifier's genre of its summary, then that
        genre's cluster of it (None: no song in the base). One classifier call and one call per
        genre for all of them: a call per playlist was most of an evaluation."""
        self._need_models()
        out: list[tuple[str, int] | None] = [None] * len(many)
        given = [i for i, seeds in enumerate(many) if len(seeds.songs)]
        if not given:
            return out
        summaries = self.summaries([many[i] for i in given])
        with one_thread():
            genres = np.asarray(self.table.classifier.predict(summaries)).astype(str)
            for genre in dict.fromkeys(genres):
                model = self.table.cluster_models.get(genre)
                if model is None:
                    raise ValueError(f"no cluster model for the predicted genre {genre!r}")
                rows = np.flatnonzero(genres == genre)
                for row, cluster in zip(rows, model.predict(summaries.iloc[rows]), strict=True):
                    out[given[row]] = (genre, int(cluster))
        return out

    def score(
        self, seeds: Seeds, depth: int, choice: tuple[str, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, str | None]:
        """(positions, scores, note) of the first ``depth`` songs of each tier of the old rule:
        the playlist's cluster, the rest of its genre, everything else, each by ascending id."""
        self._need_models()
        if not len(seeds.songs):
            note = "cluster: no playlist track in the songs base, popularity order"
            top = self.table.by_popularity[:depth]
            return top, self.table.popularity[top] / 100.0, note
        genre, cluster = choice if choice is not None else self.choices([seeds])[0]
        empty = np.zeros(0, dtype=np.int64)
        tiers = (
            self.cluster_order.get((genre, cluster), empty)[:depth],
            self.genre_order.get(genre, empty)[: 2 * depth],
            self.id_order[: 2 * depth],
        )
        top = np.unique(np.concatenate(tiers))
        in_genre = self.labels[top] == genre
        score = 0.5 * self.by_id[top] + in_genre + (in_genre & (self.table.cluster[top] == cluster))
        return top, score, f"cluster: genre {genre}, cluster {cluster}"

    def similarity(self, playlist: np.ndarray, recommended: Sequence[int]) -> float:
        """The old cosine between the means of the playlist's songs (positions, repeats kept)
        and of its first 20 recommendations."""
        return feature_cosine(
            self.old_features[playlist],
            self.old_features[np.asarray(recommended, dtype=np.int64)[:OLD_LIST_LENGTH]],
        )
