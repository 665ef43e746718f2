"""The cold-song scorer gives exactly the trees' log-odds as scikit-learn gives them, plus the
linear blend when set (the service's answers must not move by a bit)."""

from __future__ import annotations

import numpy as np

from playlist_assets.lib.recommend.cold_model import COLUMNS, ColdSongModel, fit_cold_model
from playlist_assets.lib.recommend.names import FEATURES


def test_logit_is_the_trees_decision_function_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    xs = [rng.random((400, len(FEATURES))) for _ in range(6)]
    for x in xs:
        x[rng.random(x.shape) < 0.05] = np.nan  # missing values take the trees' learned side
    ys = [rng.random(400) < 0.2 + 0.5 * np.nan_to_num(x[:, COLUMNS[0]]) for x in xs]
    model = fit_cold_model(xs, ys)
    assert model is not None
    x = rng.random((1000, len(FEATURES)))
    x[::7, COLUMNS[1]] = np.nan
    want = model.model.decision_function(x[:, COLUMNS])
    assert np.array_equal(model.logit(x), want)
    linear = ColdSongModel(model.model, rng.random(len(FEATURES) + 1))
    summed = want + linear.linear[0] + x @ linear.linear[1:]
    assert np.array_equal(linear.logit(x), summed, equal_nan=True)
    assert model.logit(x[:0]).shape == (0,)
