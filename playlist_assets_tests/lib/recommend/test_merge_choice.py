"""Choosing the merge: a scorer that costs the warm lists their first right song is refused."""

import numpy as np

from playlist_assets.lib.recommend.merge_choice import _METRICS, _holds_hits


def _rows(hits: list[float]) -> np.ndarray:
    rows = np.full((len(hits), len(_METRICS)), np.nan)
    rows[:, _METRICS.index("warm_hit_at_100")] = hits
    return rows


def test_a_merge_that_loses_hits_beyond_noise_is_refused():
    last = _rows([1.0] * 200)
    assert _holds_hits(_rows([1.0] * 199 + [0.0]), last)  # one case of 200: noise
    assert not _holds_hits(_rows([1.0] * 180 + [0.0] * 20), last)  # 10%: not noise


def test_cases_without_warm_targets_do_not_count():
    last = _rows([1.0, np.nan, 1.0])
    assert _holds_hits(_rows([1.0, np.nan, 1.0]), last)
