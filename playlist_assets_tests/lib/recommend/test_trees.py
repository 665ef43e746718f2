"""The trees read as bit masks give scikit-learn's logits to the bit: on rows that sit exactly on
a split's threshold, with trees of up to 16, 32 and 64 leaves; what masks cannot read (a
categorical split, missing values) is left to scikit-learn."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from playlist_assets.lib.recommend.cold_model import ColdSongModel
from playlist_assets.lib.recommend.trees import masked_trees


def _fitted(
    leaves: int, seed: int = 0, **options
) -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 5, 3000), rng.random(3000), rng.normal(size=3000)])
    y = rng.random(3000) < 1 / (1 + np.exp(-(x[:, 0] - 2 + 3 * x[:, 1] * x[:, 2])))
    options = {"max_iter": 30, "max_leaf_nodes": leaves, "min_samples_leaf": 5, **options}
    return HistGradientBoostingClassifier(random_state=seed, **options).fit(x, y), x


@pytest.mark.parametrize("leaves", [15, 31, 60])
def test_masks_give_sklearns_logits_to_the_bit(leaves: int) -> None:
    model, x = _fitted(leaves)
    masked = masked_trees(model)
    assert masked is not None
    thresholds = np.concatenate(masked.thresholds)
    on_splits = np.random.default_rng(1).choice(thresholds, size=(500, 3))  # ties go left
    for rows in (x, on_splits, x[:1]):
        assert np.array_equal(masked.raw(rows), model.decision_function(rows))
    assert masked.values.shape[1] <= leaves


def test_a_categorical_split_is_left_to_sklearn() -> None:
    model, x = _fitted(15, categorical_features=[0])
    assert masked_trees(model) is None
    cold = ColdSongModel(model)
    assert np.array_equal(cold.trees_logit(x), model.decision_function(x))


def test_missing_values_and_pickles() -> None:
    model, x = _fitted(15)
    cold = ColdSongModel(model)
    x = x.copy()
    x[::5, 1] = np.nan  # the trees' learned side of each split, which masks do not know
    assert np.array_equal(cold.trees_logit(x), model.decision_function(x))
    assert cold._masked  # built at the first call, used for rows without a missing value
    assert np.array_equal(cold.trees_logit(x[1:5]), model.decision_function(x[1:5]))
    again = pickle.loads(pickle.dumps(cold))
    assert again._masked is None  # rebuilt where it is used, never stored with the model
    assert np.array_equal(again.trees_logit(x[1:5]), model.decision_function(x[1:5]))
