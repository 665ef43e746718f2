"""One training run of the genre classifier: the candidate, and its fair comparison with the champion.

Both models are scored here, in the same run, on today's test split; the split's size and hash
travel with the scores, so two figures are only ever compared on the same tracks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.classifier import pipeline as clf
from playlist_assets.lib.classifier.models import ClassifierBundle
from playlist_assets.lib.classifier.registry import CHAMPION, Champion, PromotionDecision, decide
from playlist_assets.lib.classifier.split import capped_sample, split_fingerprint
from playlist_assets.lib.schema import AUDIO_FEATURES


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def predicted_mix(metrics: dict[str, Any]) -> dict[str, float]:
    """Share of each genre a model predicted on the test split, from its confusion matrix's
    columns (as ``drift.prediction_mix`` of its predictions; no second pass over the split)."""
    matrix = metrics["confusion_matrix"]
    counts = np.asarray(matrix["matrix"], dtype=np.int64).reshape(-1, len(matrix["labels"]))
    predicted = counts.sum(axis=0)
    total = int(predicted.sum())
    return {
        str(label): int(n) / total
        for label, n in sorted(zip(matrix["labels"], predicted, strict=True))
        if n > 0
    }


@dataclass
class Candidate:
    """A freshly trained model, its metrics on today's test split and what it learned from."""

    model: Any
    params: dict[str, Any]
    metrics: dict[str, Any]
    train: pd.DataFrame
    n_train_base: int
    fit_seconds: float

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def example(self) -> pd.DataFrame:
        """Five test-like rows; integer columns as doubles, so a missing value fits the signature."""
        example = self.train[list(clf.FEATURE_COLUMNS)].head(5)
        return example.astype({c: "float64" for c in example.select_dtypes("integer").columns})

    def reference(self) -> pd.DataFrame:
        """The training features drift is later measured against."""
        columns = sorted(set(clf.FEATURE_COLUMNS) | set(AUDIO_FEATURES)) + [clf.TARGET]
        return self.train[columns].reset_index(drop=True)

    def mlflow_params(self) -> dict[str, Any]:
        return {**self.params, "n_train": self.n_train, "n_train_base": self.n_train_base}

    def per_class_markdown(self) -> str:
        rows = {k: v for k, v in self.metrics["per_class"].items() if isinstance(v, dict)}
        return pd.DataFrame(rows).T.round(3).to_markdown()

    def confusion_frame(self) -> pd.DataFrame:
        cm = self.metrics["confusion_matrix"]
        frame = pd.DataFrame(cm["matrix"], index=cm["labels"], columns=cm["labels"])
        frame.index.name = "true \\ predicted"
        return frame

    def confusion_markdown(self) -> str:
        return self.confusion_frame().to_markdown()

    def artifacts(self) -> dict[str, Any]:
        """Evaluation reports and the drift reference, keyed by their MLflow artifact path."""
        features = [*clf.FEATURE_COLUMNS, clf.TARGET]
        return {
            "evaluation/confusion_matrix.json": self.metrics["confusion_matrix"],
            "evaluation/confusion_matrix.csv": self.confusion_frame(),
            "evaluation/classification_report.json": self.metrics["per_class"],
            "reference/train_features.parquet": self.train[features],
        }


def train_candidate(
    train: pd.DataFrame, test: pd.DataFrame, params: dict[str, Any], max_train_rows: int
) -> Candidate:
    """Fit on a capped, genre-stratified, hash-stable sample of ``train``; score on ``test``."""
    sample = capped_sample(train, max_train_rows)
    started = time.perf_counter()
    model = clf.fit_classifier(sample, **params)
    fit_seconds = time.perf_counter() - started
    return Candidate(model, params, clf.evaluate(model, test), sample, len(train), fit_seconds)


@dataclass
class Comparison:
    """Candidate and champion scored on the same split, and the promotion decision."""

    candidate: Candidate
    champion: Champion | None
    champion_metrics: dict[str, Any] | None
    decision: PromotionDecision
    test: pd.DataFrame
    split_hash: str

    @property
    def n_test(self) -> int:
        return len(self.test)

    @property
    def serves_candidate(self) -> bool:
        return self.decision.promoted or self.champion_metrics is None

    @property
    def serving_metrics(self) -> dict[str, Any]:
        """The serving model's metrics on today's split (the candidate's, when it serves)."""
        return self.candidate.metrics if self.serves_candidate else self.champion_metrics or {}

    def mlflow_metrics(self) -> dict[str, float]:
        metrics = {**_scalars(self.candidate.metrics), "fit_seconds": self.candidate.fit_seconds}
        metrics["n_test"] = float(self.n_test)
        for label, row in self.candidate.metrics.get("per_class", {}).items():
            if isinstance(row, dict) and "f1-score" in row:
                safe = "".join(c if c.isalnum() else "_" for c in str(label))
                metrics[f"f1_{safe}"] = float(row["f1-score"])
        if self.champion_metrics is not None:
            metrics.update({f"champion_{k}": v for k, v in _scalars(self.champion_metrics).items()})
        return metrics

    def mlflow_tags(self) -> dict[str, str]:
        return {
            "promotion_decision": self.decision.alias,
            "promotion_reason": self.decision.reason,
            "test_split_hash": self.split_hash,
            "champion_version": self.decision.champion_version or "none",
        }

    def serving_bundle(self, logged: Any, registered_model: str) -> ClassifierBundle:
        """What serving loads: the candidate when promoted (or first), else the champion."""
        if self.serves_candidate or self.champion is None:
            model, reference = self.candidate.model, self.candidate.reference()
            run_id, version, metrics = logged.run_id, logged.version, self.candidate.metrics
        else:
            model, reference = self.champion.model, self.champion.reference
            run_id, version = self.champion.run_id, self.champion.version
            metrics = self.champion_metrics or {}
        return ClassifierBundle(
            model=model,
            feature_columns=list(clf.FEATURE_COLUMNS),
            reference=reference,
            reference_prediction_mix=predicted_mix(metrics),
            metrics=_scalars(metrics),
            run_id=run_id,
            registered_model=registered_model,
            version=version,
            alias=CHAMPION,
        )


def compare_with_champion(
    candidate: Candidate, champion: Champion | None, test: pd.DataFrame, metric: str
) -> Comparison:
    """Score the champion on today's split beside the candidate and decide the promotion.

    A champion that cannot be scored any more (other features or genres) counts as absent.
    """
    champion_metrics = None
    if champion is not None:
        try:
            champion_metrics = clf.evaluate(champion.model, test)
        except (ValueError, KeyError):
            champion = None
    decision = decide(
        metric,
        float(candidate.metrics[metric]),
        None if champion_metrics is None else float(champion_metrics[metric]),
        None if champion is None else champion.version,
    )
    return Comparison(
        candidate, champion, champion_metrics, decision, test, split_fingerprint(test["track_id"])
    )
