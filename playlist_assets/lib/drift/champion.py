"""The champion's side of drift: its genre predictions on a partition, and a one-call check.

``feature_drift`` judges hours through ``episodes.HourJudge``, which predicts every hour of a
run at once with ``predict_rows``; ``classifier_drift`` is the one-partition form (tests,
benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from playlist_assets.lib.classifier.models import ClassifierBundle
from playlist_assets.lib.drift.measure import (
    DEFAULT_BINS,
    DriftReference,
    DriftReport,
    DriftThresholds,
    measure_drift,
    prepare_reference,
)
from playlist_assets.lib.schema import AUDIO_FEATURES


def predict_rows(bundle: ClassifierBundle, current: pd.DataFrame) -> np.ndarray | None:
    """The champion's prediction for every row (``None`` where a row could not be predicted),
    or None when a model feature column is missing. One call serves many hours: the model's
    per-call overhead dwarfs the rows of an hour (benchmarks/README.md, "Hourly feed")."""
    columns = list(bundle.feature_columns)
    if current.empty or any(c not in current.columns for c in columns):
        return None
    from threadpoolctl import threadpool_limits

    x = current[columns]
    labels = np.full(len(x), None, dtype=object)
    # One thread: the rows are few, and OpenMP threads fighting over busy cores made a small
    # prediction many times slower (benchmarks/results/drift.md).
    with threadpool_limits(limits=1):
        try:
            labels[:] = bundle.predict(x)
        except ValueError:
            # A model without native missing-value support: predict the complete rows only.
            complete = x.notna().all(axis=1).to_numpy()
            if complete.any():
                labels[complete] = bundle.predict(x[complete])
    return labels


def predicted_only(labels: np.ndarray | None) -> np.ndarray | None:
    """The predicted labels of ``predict_rows`` without the rows it could not predict."""
    if labels is None:
        return None
    kept = labels[np.array([label is not None for label in labels], dtype=bool)]
    return kept if len(kept) else None


def predict_genres(bundle: ClassifierBundle, current: pd.DataFrame) -> np.ndarray | None:
    """The champion's predictions on the partition rows that have every model feature, or None
    when a model feature column is missing from the partition."""
    return predicted_only(predict_rows(bundle, current))


def classifier_drift(
    bundle: ClassifierBundle,
    current: pd.DataFrame,
    *,
    thresholds: DriftThresholds | None = None,
    features: Sequence[str] = AUDIO_FEATURES,
    n_bins: int = DEFAULT_BINS,
    reference: DriftReference | None = None,
) -> DriftReport:
    """Drift of ``current`` against the champion's own training reference and prediction mix.

    Pass a ``reference`` prepared from the same bundle to skip re-preparing it.
    """
    if reference is None:
        usable = [f for f in features if f in bundle.reference.columns]
        reference = prepare_reference(
            bundle.reference, usable, prediction_mix=bundle.reference_prediction_mix, n_bins=n_bins
        )
    return measure_drift(
        reference, current, predicted=predict_genres(bundle, current), thresholds=thresholds
    )
