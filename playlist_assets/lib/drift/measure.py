"""Drift of one partition of new tracks against the data the champion classifier learned from.

Each audio feature gets two standard signals: the population stability index (how much the
distribution moved, on bins fixed by the reference's quantiles) and a two-sample
Kolmogorov-Smirnov test (whether the move is more than sampling noise). A feature counts as
drifted only when both agree, because PSI alone is inflated on small partitions. The champion's
predicted-genre mix on the partition is compared with its mix on the test split by total
variation distance. A partition drifts when enough features drifted, when one feature moved
far, or when the predicted mix moved; ``drift_score`` is the largest of the three signals
relative to its threshold, so 1.0 is the line. The reference is prepared once (bins, sorted
values, shares) so comparing a partition costs milliseconds even against a 114,000-row catalogue.
The statistics themselves are in ``stats``; the champion's predictions in ``champion``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from playlist_assets.lib.drift.stats import (
    ks_two_sample,
    population_stability_index,
    prediction_mix,
    total_variation,
)
from playlist_assets.lib.schema import AUDIO_FEATURES

DEFAULT_BINS = 10
# Features with at most this many distinct reference values (key, mode, time_signature) are
# binned by value: quantile edges would collapse onto a handful of points.
MAX_CATEGORICAL_LEVELS = 20
# Jeffreys-style additive smoothing of bin counts, so an empty bin gives a finite PSI that
# does not explode on a small partition.
_SMOOTHING = 0.5

FEATURE_TABLE_COLUMNS: tuple[str, ...] = (
    "feature",
    "n",
    "psi",
    "ks_statistic",
    "ks_pvalue",
    "reference_mean",
    "current_mean",
    "drifted",
)


@dataclass(frozen=True)
class DriftThresholds:
    """When a partition counts as drifted; every field is a configuration knob."""

    psi: float = 0.2
    ks_pvalue: float = 0.01
    share_drifted: float = 0.25
    single_feature_psi: float = 0.75
    prediction_shift: float = 0.3
    min_tracks: int = 30

    def __post_init__(self) -> None:
        checks = {
            "psi": self.psi > 0,
            "ks_pvalue": 0 < self.ks_pvalue < 1,
            "share_drifted": 0 < self.share_drifted <= 1,
            "single_feature_psi": self.single_feature_psi > 0,
            "prediction_shift": 0 < self.prediction_shift <= 1,
            "min_tracks": self.min_tracks >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ValueError(
                f"invalid drift threshold(s): {values} (psi > 0, 0 < ks_pvalue < 1, "
                "0 < share_drifted <= 1, single_feature_psi > 0, 0 < prediction_shift <= 1, "
                "min_tracks >= 1)"
            )


@dataclass(frozen=True)
class FeatureReference:
    """One feature's reference distribution, prepared for repeated comparisons."""

    feature: str
    sorted_values: np.ndarray
    shares: np.ndarray
    edges: np.ndarray | None = None  # interior bin edges (continuous features)
    levels: np.ndarray | None = None  # distinct values (categorical features)

    @property
    def mean(self) -> float:
        return float(self.sorted_values.mean()) if len(self.sorted_values) else float("nan")

    def counts(self, values: np.ndarray) -> np.ndarray:
        """Bin counts of ``values`` on the reference's bins (categorical: last bin = unseen level)."""
        if self.levels is not None:
            pos = np.searchsorted(self.levels, values)
            pos_clipped = np.minimum(pos, len(self.levels) - 1)
            known = self.levels[pos_clipped] == values
            bins = np.where(known, pos_clipped, len(self.levels))
            return np.bincount(bins, minlength=len(self.levels) + 1)
        # side="left": bin i holds (edge[i-1], edge[i]], so a point mass at an edge (many exact
        # zeros in instrumentalness) stays in one bin.
        return np.bincount(
            np.searchsorted(self.edges, values, side="left"), minlength=len(self.edges) + 1
        )


@dataclass(frozen=True)
class DriftReference:
    """The champion's training features and test-split prediction mix, prepared once."""

    features: dict[str, FeatureReference]
    prediction_mix: dict[str, float] = field(default_factory=dict)
    n_rows: int = 0


def _numeric(values: pd.Series) -> np.ndarray:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return arr[~np.isnan(arr)]


def _smoothed_shares(counts: np.ndarray) -> np.ndarray:
    counts = counts.astype(float) + _SMOOTHING
    return counts / counts.sum()


def prepare_reference(
    reference: pd.DataFrame,
    features: Sequence[str] = AUDIO_FEATURES,
    *,
    prediction_mix: Mapping[str, float] | None = None,
    n_bins: int = DEFAULT_BINS,
) -> DriftReference:
    """Bins from the reference's quantiles, sorted values for KS, smoothed bin shares."""
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    missing = [f for f in features if f not in reference.columns]
    if missing:
        raise ValueError(f"drift reference lacks feature column(s) {missing}")
    prepared: dict[str, FeatureReference] = {}
    for feature in features:
        values = np.sort(_numeric(reference[feature]))
        if len(values) == 0:
            raise ValueError(f"drift reference has no numeric values in feature {feature!r}")
        levels = np.unique(values)
        if len(levels) <= MAX_CATEGORICAL_LEVELS:
            ref = FeatureReference(feature, values, np.empty(0), levels=levels)
        else:
            quantiles = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
            ref = FeatureReference(feature, values, np.empty(0), edges=np.unique(quantiles))
        prepared[feature] = FeatureReference(
            feature,
            values,
            _smoothed_shares(ref.counts(values)),
            edges=ref.edges,
            levels=ref.levels,
        )
    return DriftReference(
        features=prepared,
        prediction_mix={str(k): float(v) for k, v in (prediction_mix or {}).items()},
        n_rows=len(reference),
    )


@dataclass
class DriftReport:
    """Per-feature statistics and the partition-level decision."""

    n_tracks: int
    features: pd.DataFrame
    share_drifted: float
    strongest_feature: str | None
    strongest_psi: float
    prediction_shift: float | None
    prediction_mix: dict[str, float]
    drift_score: float
    drifted: bool
    reason: str
    thresholds: DriftThresholds

    @property
    def drifted_features(self) -> list[str]:
        return self.features.loc[self.features["drifted"], "feature"].tolist()

    def features_markdown(self) -> str:
        """The per-feature table as markdown (for Dagster metadata and reports)."""
        header = "| feature | n | PSI | KS | KS p-value | ref mean | partition mean | drifted |"
        rows = [header, "|---|---:|---:|---:|---:|---:|---:|:---:|"]
        for r in self.features.itertuples(index=False):
            rows.append(
                f"| {r.feature} | {r.n} | {_fmt(r.psi, '.3f')} | {_fmt(r.ks_statistic, '.3f')} "
                f"| {_fmt(r.ks_pvalue, '.2g')} | {_fmt(r.reference_mean, '.4g')} "
                f"| {_fmt(r.current_mean, '.4g')} | {'yes' if r.drifted else ''} |"
            )
        return "\n".join(rows)


def _fmt(value: float, spec: str) -> str:
    return "" if value is None or not np.isfinite(value) else format(value, spec)


def _feature_frame(rows: list[tuple]) -> pd.DataFrame:
    """The per-feature table, typed column by column (``DataFrame.astype`` was a third of an
    hour's drift check)."""
    columns = dict(zip(FEATURE_TABLE_COLUMNS, zip(*rows, strict=True), strict=True)) if rows else {}
    typed = {
        name: pd.array(columns.get(name, ()), dtype="string")
        if name == "feature"
        else np.asarray(
            columns.get(name, ()), dtype={"n": "int64", "drifted": bool}.get(name, float)
        )
        for name in FEATURE_TABLE_COLUMNS
    }
    return pd.DataFrame(typed)


def _feature_rows(
    reference: DriftReference, current: pd.DataFrame, thresholds: DriftThresholds, enough: bool
) -> list[tuple]:
    """One ``FEATURE_TABLE_COLUMNS`` row per reference feature."""
    rows = []
    for name, ref in reference.features.items():
        values = _numeric(current[name]) if name in current.columns else np.empty(0)
        n = len(values)
        psi = ks_stat = ks_p = float("nan")
        if n:
            psi = population_stability_index(ref.shares, _smoothed_shares(ref.counts(values)))
            ks_stat, ks_p = ks_two_sample(ref.sorted_values, values)
        drifted = bool(
            enough
            and n >= thresholds.min_tracks
            and psi >= thresholds.psi
            and ks_p < thresholds.ks_pvalue
        )
        current_mean = float(values.mean()) if n else float("nan")
        rows.append((name, n, psi, ks_stat, ks_p, ref.mean, current_mean, drifted))
    return rows


def _strongest(table: pd.DataFrame, thresholds: DriftThresholds) -> tuple[str | None, float]:
    """The strongest move (feature, PSI) among features whose KS test says it is not noise."""
    significant = table[
        (table["n"] >= thresholds.min_tracks) & (table["ks_pvalue"] < thresholds.ks_pvalue)
    ]
    if not len(significant):
        return None, 0.0
    strongest = significant.loc[significant["psi"].idxmax()]
    return str(strongest["feature"]), float(strongest["psi"])


def measure_drift(
    reference: DriftReference,
    current: pd.DataFrame,
    *,
    predicted: Sequence[object] | np.ndarray | None = None,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    """Compare one partition with the prepared reference; never raises on a small or empty one.

    ``predicted`` are the champion's genre predictions on the partition (omit to skip the
    prediction-mix signal). A feature column missing from the partition counts as not judged.
    """
    thresholds = thresholds or DriftThresholds()
    n_tracks = len(current)
    enough = n_tracks >= thresholds.min_tracks
    table = _feature_frame(_feature_rows(reference, current, thresholds, enough))
    n_features = len(table)
    share = int(table["drifted"].sum()) / n_features if n_features else 0.0
    strongest_feature, strongest_psi = _strongest(table, thresholds)

    mix = prediction_mix(predicted) if predicted is not None and len(predicted) else {}
    shift = (
        total_variation(mix, reference.prediction_mix) if mix and reference.prediction_mix else None
    )

    if not enough:
        score, drifted = 0.0, False
        reason = f"too few tracks to judge: {n_tracks} < min_tracks {thresholds.min_tracks}"
    else:
        score = max(
            share / thresholds.share_drifted,
            strongest_psi / thresholds.single_feature_psi,
            shift / thresholds.prediction_shift if shift is not None else 0.0,
        )
        drifted = score >= 1.0
        reason = _reason(drifted, table, share, strongest_feature, strongest_psi, shift, thresholds)
    return DriftReport(
        n_tracks=n_tracks,
        features=table,
        share_drifted=share,
        strongest_feature=strongest_feature,
        strongest_psi=strongest_psi,
        prediction_shift=shift,
        prediction_mix=mix,
        drift_score=float(score),
        drifted=drifted,
        reason=reason,
        thresholds=thresholds,
    )


def _cmp(value: float, threshold: float) -> str:
    return f"{value:.2f} {'>=' if value >= threshold else '<'} {threshold:.2f}"


def _reason(
    drifted: bool,
    table: pd.DataFrame,
    share: float,
    strongest_feature: str | None,
    strongest_psi: float,
    shift: float | None,
    t: DriftThresholds,
) -> str:
    names = table.loc[table["drifted"], "feature"].tolist()
    parts = [
        f"{len(names)} of {len(table)} features drifted"
        + (f" ({', '.join(names)})" if names else "")
        + f", share {_cmp(share, t.share_drifted)}"
    ]
    if strongest_feature is not None:
        parts.append(
            f"strongest {strongest_feature} PSI {_cmp(strongest_psi, t.single_feature_psi)}"
        )
    if shift is None:
        parts.append("predicted-genre mix not compared (no predictions or no reference mix)")
    else:
        parts.append(f"predicted-genre mix shift {_cmp(shift, t.prediction_shift)}")
    return f"{'drifted' if drifted else 'no drift'}: " + "; ".join(parts)
