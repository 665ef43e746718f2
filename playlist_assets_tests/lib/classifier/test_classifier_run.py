"""One training run: the candidate on a capped sample, and its comparison with the champion on
today's split (what serves, what MLflow records)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.classifier import pipeline as clf
from playlist_assets.lib.classifier.registry import Champion
from playlist_assets.lib.classifier.run import (
    compare_with_champion,
    predicted_mix,
    train_candidate,
)
from playlist_assets.lib.classifier.split import split_fingerprint
from playlist_assets.lib.quality.judge import to_typed
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import AUDIO_FEATURES

GENRES = ["classical", "edm", "hip-hop", "jazz"]
FAST = {"max_iter": 15}
# A model that cannot beat anything: leaves larger than the data make it predict one genre.
WEAK = {"max_iter": 1, "min_samples_leaf": 1_000_000}
LOGGED = SimpleNamespace(run_id="run-new", version="7")


def tracks(per_genre: int, seed: int) -> pd.DataFrame:
    frame = generate_tracks(per_genre, GENRES, seed=seed).drop_duplicates("track_id")
    return to_typed(frame).reset_index(drop=True)


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    return tracks(60, seed=1), tracks(15, seed=2)


@pytest.fixture(scope="module")
def strong(split) -> Champion:
    train, _ = split
    return Champion(clf.fit_classifier(train, **FAST), train.head(50), "3", "run-champion")


def test_the_candidate_learns_from_a_capped_stratified_sample(split) -> None:
    train, test = split
    candidate = train_candidate(train, test, FAST, max_train_rows=100)
    assert candidate.n_train_base == len(train) and 90 <= candidate.n_train <= 100
    assert set(candidate.train["track_genre"]) == set(GENRES)
    assert candidate.metrics["n_samples"] == len(test) and candidate.metrics["macro_f1"] > 0.5
    assert candidate.mlflow_params() == {
        **FAST,
        "n_train": candidate.n_train,
        "n_train_base": len(train),
    }
    reference = candidate.reference()
    assert set(AUDIO_FEATURES) <= set(reference.columns) and "track_genre" in reference.columns
    assert len(reference) == candidate.n_train
    example = candidate.example  # integer columns as doubles, so a missing value fits
    assert len(example) == 5 and example["key"].dtype == "float64"
    assert not any(pd.api.types.is_integer_dtype(d) for d in example.dtypes)
    assert set(candidate.artifacts()) == {
        "evaluation/confusion_matrix.json",
        "evaluation/confusion_matrix.csv",
        "evaluation/classification_report.json",
        "reference/train_features.parquet",
    }
    assert train_candidate(train, test, FAST, max_train_rows=0).n_train == len(train)


def test_the_first_candidate_serves_and_records_its_own_scores(split) -> None:
    train, test = split
    comparison = compare_with_champion(
        train_candidate(train, test, FAST, 0), None, test, "macro_f1"
    )
    assert comparison.decision.promoted and comparison.serves_candidate
    assert comparison.split_hash == split_fingerprint(test["track_id"])
    assert comparison.n_test == len(test)
    metrics = comparison.mlflow_metrics()
    assert metrics["n_test"] == len(test) and "fit_seconds" in metrics
    assert "f1_hip_hop" in metrics and not any(k.startswith("champion_") for k in metrics)
    assert comparison.mlflow_tags()["champion_version"] == "none"
    bundle = comparison.serving_bundle(LOGGED, "genre_classifier")
    assert (bundle.run_id, bundle.version, bundle.alias) == ("run-new", "7", "champion")
    assert bundle.model is comparison.candidate.model
    assert len(bundle.reference) == comparison.candidate.n_train


def test_a_weaker_candidate_leaves_the_champion_serving(split, strong) -> None:
    train, test = split
    comparison = compare_with_champion(
        train_candidate(train, test, WEAK, 0), strong, test, "macro_f1"
    )
    assert not comparison.decision.promoted and not comparison.serves_candidate
    assert comparison.decision.champion_version == "3"
    assert comparison.serving_metrics is comparison.champion_metrics
    metrics = comparison.mlflow_metrics()
    assert metrics["champion_macro_f1"] == comparison.champion_metrics["macro_f1"]
    assert metrics["champion_macro_f1"] > metrics["macro_f1"]
    assert comparison.mlflow_tags()["promotion_decision"] == "challenger"
    bundle = comparison.serving_bundle(LOGGED, "genre_classifier")
    assert (bundle.run_id, bundle.version) == ("run-champion", "3")
    assert bundle.model is strong.model and bundle.reference is strong.reference
    assert bundle.reference_prediction_mix == predicted_mix(comparison.champion_metrics)


class _Unscorable:
    """A champion trained on columns today's songs no longer have."""

    classes_ = np.array(GENRES)

    def predict_proba(self, songs: pd.DataFrame) -> np.ndarray:
        raise KeyError("tempo_v1")


def test_a_champion_that_cannot_be_scored_counts_as_absent(split) -> None:
    train, test = split
    gone = Champion(_Unscorable(), train.head(5), "2", "run-old")
    comparison = compare_with_champion(
        train_candidate(train, test, WEAK, 0), gone, test, "accuracy"
    )
    assert comparison.champion is None and comparison.champion_metrics is None
    assert comparison.decision.promoted
    assert comparison.decision.reason == "no champion yet: the first model becomes champion"


def test_the_predicted_mix_reads_the_confusion_matrix_columns() -> None:
    metrics = {
        "confusion_matrix": {
            "labels": ["jazz", "edm", "rock"],
            "matrix": [[3, 1, 0], [0, 4, 0], [2, 0, 0]],
        }
    }
    assert predicted_mix(metrics) == {"edm": 0.5, "jazz": 0.5}
