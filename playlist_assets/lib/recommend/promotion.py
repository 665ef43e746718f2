"""Promoting a recommender: the candidate serves only if neither slice got worse beyond noise.

The candidate (today's ``track_cooccurrence`` and blends) and the serving champion rank the same
held-out playlists; per playlist, the difference of each headline figure (warm R-precision,
NDCG, clicks, hit@100; cold recall@100/@500) is resampled with a paired bootstrap. The candidate
is held back, as the challenger, when an interval lies wholly on the worse side of zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from playlist_assets.lib.recommend.report import COLD_HEADLINE, WARM_HEADLINE, EvalResult

LOWER_IS_BETTER = frozenset({"clicks"})
RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Difference:
    """Candidate minus champion on one figure, with its paired-bootstrap interval."""

    slice: str  # "warm" or "cold"
    metric: str
    candidate: float
    champion: float
    low: float
    high: float
    playlists: int

    @property
    def worse(self) -> bool:
        """The interval lies wholly on the worse side of zero."""
        return self.low > 0 if self.metric in LOWER_IS_BETTER else self.high < 0


@dataclass
class Promotion:
    """Whether the candidate serves, and the differences that decided it."""

    promote: bool
    reason: str
    differences: list[Difference] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {**d.__dict__, "difference": d.candidate - d.champion, "worse": d.worse}
                for d in self.differences
            ]
        )


def paired_interval(
    new: np.ndarray,
    old: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap interval of mean(new - old) over paired observations."""
    diff = np.asarray(new, dtype=float) - np.asarray(old, dtype=float)
    if len(diff) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def _paired(
    frame_new: pd.DataFrame, frame_old: pd.DataFrame, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """The hybrid's per-playlist ``metric`` of both, on the playlists both scored."""
    new = frame_new[frame_new["strategy"] == "hybrid"].set_index("pid")[metric]
    old = frame_old[frame_old["strategy"] == "hybrid"].set_index("pid")[metric]
    both = new.index.intersection(old.index)
    return new.loc[both].to_numpy(dtype=float), old.loc[both].to_numpy(dtype=float)


def compare(candidate: EvalResult, champion: EvalResult | None) -> Promotion:
    """Promote unless a warm or cold headline figure got worse beyond noise."""
    if champion is None:
        return Promotion(True, "no champion yet: the first recommender serves")
    differences = []
    for name, new, old, metrics in (
        ("warm", candidate.per_case, champion.per_case, WARM_HEADLINE),
        ("cold", candidate.cold_per_case, champion.cold_per_case, COLD_HEADLINE),
    ):
        if new.empty or old.empty:
            continue
        for metric in metrics:
            a, b = _paired(new, old, metric)
            if not len(a):
                continue
            low, high = paired_interval(a, b)
            differences.append(
                Difference(name, metric, float(a.mean()), float(b.mean()), low, high, len(a))
            )
    worse = [d for d in differences if d.worse]
    if worse:
        named = ", ".join(
            f"{d.slice} {d.metric} {d.candidate:.4f} vs {d.champion:.4f} "
            f"(95% interval of the difference {d.low:+.4f}..{d.high:+.4f})"
            for d in worse
        )
        return Promotion(False, f"worse than the champion beyond noise: {named}", differences)
    return Promotion(True, "no headline figure worse than the champion's beyond noise", differences)
