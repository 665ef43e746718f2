"""The cold-song scorer: how likely a song without evidence is one of the playlist's next songs.

A song no training playlist puts with the seeds is judged by what it shares with them (artist,
album, genre, cluster, audio) and by how popular it is; these interact (a popular song of a seed's
artist is far likelier than either alone), which a linear blend cannot express: on the real
extract's cold fold, gradient-boosted trees found a third more of the cold targets among their
first 50 songs than the linear cold-song blend (benchmarks/results/recommend.md). The trees are
small; they are evaluated all at once as bit masks (``trees``: a quarter of scikit-learn's
time, the same logits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playlist_assets.lib.recommend.names import COOC_FEATURES, FEATURES

# Without evidence the co-occurrence features are zero: the trees read the rest.
COLUMNS: tuple[int, ...] = tuple(i for i, f in enumerate(FEATURES) if f not in COOC_FEATURES)
NEGATIVES = 300  # negatives sampled per case (every positive is kept)
TREES = {"max_iter": 100, "max_leaf_nodes": 15, "min_samples_leaf": 50, "l2_regularization": 1.0}


@dataclass
class ColdSongModel:
    """Gradient-boosted trees over a cold candidate's features; ``logit`` is their log-odds,
    plus the linear cold-song blend's when ``linear`` (``[bias, *FEATURES]``) is set: on the
    real extract the trees ranked the first cold places better and the linear blend the deep
    ones (a popular song of a seed's genre), their sum both."""

    model: Any
    linear: np.ndarray | None = None
    _masked: Any = field(default=None, init=False, repr=False, compare=False)

    def logit(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        out = self.trees_logit(x[:, COLUMNS])
        if self.linear is not None:
            out = out + self.linear[0] + x @ self.linear[1:]
        return out

    def trees_logit(self, x: np.ndarray) -> np.ndarray:
        """The trees' log-odds: as bit masks (``trees.masked_trees``, built at the first call),
        or by scikit-learn for what masks do not cover (a missing value, a categorical split)."""
        from playlist_assets.lib.recommend.trees import masked_trees

        if self._masked is None:
            self._masked = masked_trees(self.model) or False
        if self._masked and not np.isnan(x).any():
            return self._masked.raw(x)
        from playlist_assets.lib.recommend.songs import one_thread

        with one_thread():
            return np.asarray(self.model.decision_function(x), dtype=float)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_masked": None}  # rebuilt where it is used


def fit_cold_model(
    xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], *, seed: int = 0
) -> ColdSongModel | None:
    """Fit on cases' cold candidates (features, labels); None with too few positives."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    rows_x, rows_y = [], []
    for x, y in zip(xs, ys, strict=True):
        positive, negative = np.flatnonzero(y), np.flatnonzero(~y)
        if len(negative) > NEGATIVES:
            negative = rng.choice(negative, NEGATIVES, replace=False)
        rows = np.concatenate([positive, negative])
        rows_x.append(x[rows][:, COLUMNS])
        rows_y.append(y[rows])
    if not rows_y:
        return None
    y = np.concatenate(rows_y)
    if y.sum() < 20 or (~y).sum() < 20:
        return None
    from playlist_assets.lib.recommend.songs import one_thread

    # Unweighted: the merge's curve calibrates the logits afterwards, and sample weights make
    # scikit-learn bin the features with weighted percentiles (most of a fit's time).
    model = HistGradientBoostingClassifier(random_state=seed, **TREES)
    with one_thread():  # two threads were 5x slower on a busy 2-core machine
        model.fit(np.vstack(rows_x), y)
    return ColdSongModel(model)
