"""How songs without evidence meet songs with evidence in one list: by calibrated chance.

Songs the training playlists put with the seeds are scored by the warm blend, the others by the
cold-song blend. The two blends are fitted on different pools, so their scores do not compare.
Each group gets a calibration curve, fitted on validation playlists of a cold fold (a configured
share of the catalogue songs stripped from the training rows, so that share of the targets has no
evidence): the chance that a song is one of the playlist's next songs, from its blend logit and
its rank within its group (the first songs of a group are worth more than their logit says:
the rank carries what the logit of one playlist cannot compare across playlists). The list then
orders every candidate by that chance: a song without evidence enters only where its chance beats
the evidenced songs it displaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curve:
    """log-odds = logit * ``slope`` + log(rank in group) * ``rank_slope`` + ``bias``."""

    slope: float = 1.0
    rank_slope: float = 0.0
    bias: float = 0.0

    def __call__(self, logit: np.ndarray, rank: np.ndarray) -> np.ndarray:
        return self.slope * logit + self.rank_slope * np.log(rank) + self.bias


@dataclass(frozen=True)
class Merge:
    """The calibration curves of the two groups (``warm``: with evidence)."""

    warm: Curve = Curve()
    cold: Curve = Curve(bias=-1e3)  # uncalibrated: every song without evidence last

    def __call__(self, warm: np.ndarray, cold: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of every candidate (``warm``/``cold``: each blend's logit)."""
        out = np.empty(len(evidence))
        for mask, logit, curve in ((evidence, warm, self.warm), (~evidence, cold, self.cold)):
            if mask.any():
                out[mask] = curve(logit[mask], rank_in_group(logit[mask]))
        return out


def rank_in_group(logit: np.ndarray) -> np.ndarray:
    """1-based rank of each logit among the group's (best first, ties share the best rank)."""
    order = np.argsort(-logit, kind="stable")
    ranks = np.empty(len(logit))
    ranks[order] = np.arange(1, len(logit) + 1)
    return ranks


def fit_curve(logits: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> Curve | None:
    """A group's curve from its candidates' logits and labels, case by case (None: too few
    positives or negatives to fit, or a curve that does not increase with the logit)."""
    from sklearn.linear_model import LogisticRegression

    if not logits:
        return None
    x = np.vstack([np.column_stack([g, np.log(rank_in_group(g))]) for g in logits])
    y = np.concatenate(labels)
    if y.sum() < 5 or (~y).sum() < 5:
        return None
    model = LogisticRegression(C=1e4, max_iter=5000).fit(x, y)
    slope, rank_slope = (float(c) for c in model.coef_[0])
    if slope <= 0 and rank_slope >= 0:
        return None
    return Curve(slope, rank_slope, float(model.intercept_[0]))
