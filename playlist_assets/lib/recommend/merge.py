"""How songs without evidence meet songs with evidence in one list: by calibrated chance.

Songs the training playlists put with the seeds are scored by the warm blend, the others by the
cold-song blend. The two blends are fitted on different pools, so their scores do not compare.
Each group gets a calibration curve, fitted on validation playlists of a cold fold (a configured
share of the catalogue songs stripped from the training rows, so that share of the targets has no
evidence): the chance that a song is one of the playlist's next songs, from its blend logit and
its rank within its group (the first songs of a group are worth more than their logit says:
the rank carries what the logit of one playlist cannot compare across playlists). The rank enters
by bins that double in width (1, 2, 3-4, 5-8, ... 513+), each with its own fitted offset: a
straight line in log(rank) fitted where most positives are (the first places) overstated the
chance of evidenced songs deep in their group, so places 100-500 went to evidenced songs that
were rarely right while songs without evidence that were right more often waited below them.
The list then orders every candidate by that chance: a song without evidence enters only where
its chance beats the evidenced songs it displaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Rank bins: bin b holds ranks 2**(b-1)+1 .. 2**b (bin 0: rank 1); the last is open-ended.
RANK_BINS = 11
# Strength of the pull of the bins' offsets towards zero (inverse of LogisticRegression's C):
# a deep bin with few positives keeps the logit's word instead of a noisy offset.
BIN_PENALTY = 1.0


def rank_bin(rank: np.ndarray) -> np.ndarray:
    """The bin of each 1-based rank (0 for rank 1, then one bin per doubling)."""
    return np.minimum(np.ceil(np.log2(np.maximum(rank, 1.0))), RANK_BINS - 1).astype(np.int64)


@dataclass(frozen=True)
class Curve:
    """log-odds = logit * ``slope`` + log(rank in group) * ``rank_slope`` + ``bias`` +
    ``rank_offsets[rank_bin(rank)]`` (no offsets: a curve straight in log(rank))."""

    slope: float = 1.0
    rank_slope: float = 0.0
    bias: float = 0.0
    rank_offsets: tuple[float, ...] = ()

    def __call__(self, logit: np.ndarray, rank: np.ndarray) -> np.ndarray:
        out = self.slope * logit + self.rank_slope * np.log(rank) + self.bias
        if self.rank_offsets:
            out = out + np.asarray(self.rank_offsets)[rank_bin(rank)]
        return out


# Below every calibrated log-odds: where the songs a merge sends last score.
LAST = -1e3


@dataclass(frozen=True)
class Merge:
    """The calibration curves of the two groups (``warm``: with evidence), and the place after
    which songs without evidence come first (``tail_from``; 0: chance orders the whole list).

    The first places are where a listener looks: there the calibrated chance decides. Past
    ``tail_from`` the list is for discovery: the songs without evidence fill it in their own
    order, and evidenced songs that deep (sharing a seed with a training playlist or two) wait
    below them (``merge_choice.TAIL_FROM`` says what that did on held-out playlists)."""

    warm: Curve = Curve()
    cold: Curve = Curve(bias=LAST)  # uncalibrated: every song without evidence last
    tail_from: int = 0

    def __call__(self, warm: np.ndarray, cold: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of every candidate (``warm``/``cold``: each blend's logit); past
        ``tail_from``, evidenced songs score below every song without evidence."""
        out = np.empty(len(evidence))
        for mask, logit, curve in ((evidence, warm, self.warm), (~evidence, cold, self.cold)):
            if mask.any():
                out[mask] = curve(logit[mask], rank_in_group(logit[mask]))
        if self.tail_from and (~evidence).any():
            deep = evidence & (rank_in_group(out) > self.tail_from)
            out[deep] += 2 * LAST
        return out


def rank_in_group(logit: np.ndarray) -> np.ndarray:
    """1-based rank of each logit among the group's (best first, ties share the best rank)."""
    order = np.argsort(-logit, kind="stable")
    ranks = np.empty(len(logit))
    ranks[order] = np.arange(1, len(logit) + 1)
    return ranks


def fit_curve(logits: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> Curve | None:
    """A group's curve from its candidates' logits and labels, case by case (None: too few
    positives or negatives to fit, or a curve that falls with the logit and does not fall with
    the rank)."""
    from sklearn.linear_model import LogisticRegression

    if not logits:
        return None
    y = np.concatenate(labels)
    if y.sum() < 5 or (~y).sum() < 5:
        return None
    logit = np.concatenate(logits)
    bins = np.concatenate([rank_bin(rank_in_group(g)) for g in logits])
    # The logit's column is scaled up so the penalty holds back the bins' offsets, not the slope.
    scale = 10.0
    x = np.column_stack([logit * scale, np.eye(RANK_BINS)[bins]])
    model = LogisticRegression(C=1 / BIN_PENALTY, max_iter=5000).fit(x, y)
    slope = float(model.coef_[0][0]) * scale
    offsets = tuple(float(c) for c in model.coef_[0][1:])
    if slope <= 0 and offsets[0] <= offsets[-1]:
        return None
    return Curve(slope, 0.0, float(model.intercept_[0]), offsets)
