"""The drift statistics: a two-sample KS test on a presorted reference, PSI, label mixes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def ks_two_sample(sorted_reference: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and p-value of ``values`` against a presorted reference.

    The statistic is ``scipy.stats.ks_2samp``'s, in O(n log m): ks_2samp sorts the reference
    again on every call and computes an exact p-value, which made it most of a year's backfill
    (benchmarks/README.md, "Hourly feed"). The p-value is Stephens' approximation of the
    Kolmogorov distribution (Numerical Recipes' ``probks``), within 0.001 of the exact one
    below p = 0.1, where the drift thresholds lie.
    """
    from scipy.special import kolmogorov  # slow import, already paid when a model was unpickled

    m, n = len(sorted_reference), len(values)
    x = np.sort(values)
    # The hour's ECDF steps only at its own points and the reference's is monotone, so the
    # largest gap lies at one of those points: at it, or just before it.
    gap_at = np.searchsorted(sorted_reference, x, side="right") / m - (
        np.searchsorted(x, x, side="right") / n
    )
    gap_before = np.searchsorted(sorted_reference, x, side="left") / m - (
        np.searchsorted(x, x, side="left") / n
    )
    d = float(max(np.abs(gap_at).max(), np.abs(gap_before).max()))
    root = np.sqrt(m * n / (m + n))
    return d, float(kolmogorov((root + 0.12 + 0.11 / root) * d))


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum((actual - expected) * ln(actual / expected)) over bins of strictly positive shares."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def prediction_mix(labels: Sequence[object] | np.ndarray) -> dict[str, float]:
    """Share of each predicted label."""
    counts = pd.Series(np.asarray(labels, dtype=object)).astype(str).value_counts(normalize=True)
    return {str(k): float(v) for k, v in counts.sort_index().items()}


def total_variation(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Half the L1 distance between two label distributions: 0 = same mix, 1 = disjoint."""
    labels = set(p) | set(q)
    return 0.5 * float(sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in labels))
