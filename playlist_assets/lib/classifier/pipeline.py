"""The genre classifier: one scikit-learn pipeline from a raw songs table to genre posteriors.

Beyond the audio features it uses what every song of the base carries (popularity, duration,
explicit) and its lead artist, target-encoded: Spotify assigns genres to artists, so an artist
already seen in training is the strongest single clue, while an unseen artist falls back to the
genre prior and the audio features carry the prediction. The encoder cross-fits on training
data (out-of-fold encodings), so the booster never learns from a song's own label.
HistGradientBoosting replaces the old GradientBoostingClassifier: binned features (45-108x
faster to fit here), native missing values and categorical splits. Figures and the tuning
record: ``benchmarks/results/classifier.md``.

The fitted pipeline is made of stock parts only (scikit-learn estimators, pandas methods called
by name): pickled, it refers to scikit-learn, pandas and the standard library, never to this
project, so MLflow tooling (``mlflow models serve``, a serving platform) loads the registered
model in an environment built from its own requirements (README, "MLflow").
"""

from __future__ import annotations

from operator import methodcaller
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, TargetEncoder

from playlist_assets.lib.schema import AUDIO_FEATURES

TARGET = "track_genre"
NUMERIC_FEATURES: tuple[str, ...] = (*AUDIO_FEATURES, "popularity", "duration_ms", "explicit")
# Integer codes split as categories rather than thresholds (key 11 is not "more" than key 0).
CATEGORICAL_FEATURES: tuple[str, ...] = ("key", "mode", "time_signature", "explicit")
ARTIST_COLUMN = "artists"
# Kaggle lists a song's artists as "Artist A;Artist B": group 1 is the lead artist, stripped of
# white space (what ``str.split(";")[0].strip()`` gives).
LEAD_ARTIST_PATTERN = r"\A\s*([^;]*?)\s*(?:;[\s\S]*)?\Z"
# Columns the classifier reads from a songs table (Kaggle names); other columns are ignored.
FEATURE_COLUMNS: tuple[str, ...] = (*NUMERIC_FEATURES, ARTIST_COLUMN)

# Chosen by 3-fold cross-validation on the training split of the real ten-genre data
# (benchmarks/results/classifier.md); the test split was never used for tuning.
# Accuracy is flat (0.929-0.932) across the grid; small trees and few rounds give the best
# log-loss (the recommender reads posteriors) and the fastest fit. Early stopping is off: it
# would hold out 10% of a small training set and fails outright below ~10 rows per class.
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 60,
    "max_leaf_nodes": 7,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
    "early_stopping": False,
    "use_artist": True,
    "artist_dropout": 0.3,
    "random_state": 0,
}


def prepare_features(songs: pd.DataFrame, use_artist: bool = True) -> pd.DataFrame:
    """The feature step of pipelines pickled before the pipeline was made of stock parts.

    Kept so that those models (an old champion in the registry, a model file) still load and
    predict inside the project; new pipelines do this with ``_lead_artist_encoder``.
    """
    needed = FEATURE_COLUMNS if use_artist else NUMERIC_FEATURES
    missing = [c for c in needed if c not in songs.columns]
    if missing:
        raise ValueError(f"songs table lacks classifier feature column(s): {', '.join(missing)}")
    features = songs.loc[:, list(NUMERIC_FEATURES)].astype("float64")
    if use_artist:
        artists = songs[ARTIST_COLUMN].astype("string").fillna("")
        features["lead_artist"] = artists.str.split(";").str[0].str.strip().astype(object)
    return features


def _lead_artist_encoder(random_state: int | None) -> Pipeline:
    """The artists column -> its lead artist ("" when missing) -> out-of-fold target encoding.

    Each step is a pandas method called by name (``operator.methodcaller``), so the fitted
    pipeline needs no code of this project to load.
    """

    def by_name(method: str, *args: Any, **kwargs: Any) -> FunctionTransformer:
        call = methodcaller(method, *args, **kwargs)
        return FunctionTransformer(call, feature_names_out="one-to-one")

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)
    return Pipeline(
        [
            ("as_string", by_name("astype", "string")),
            ("missing_as_empty", by_name("fillna", "")),
            ("lead_artist", by_name("replace", LEAD_ARTIST_PATTERN, r"\1", regex=True)),
            ("target_encode", TargetEncoder(cv=folds)),
        ]
    )


class ArtistDropout(TransformerMixin, BaseEstimator):
    """At fit time only, gives a random ``rate`` of the training songs the encoding of an unknown
    artist (the genre prior), so the booster learns to fall back on the audio features.

    Without it, when every training artist recurs, the booster never sees an uninformative
    artist encoding and guesses blindly for a new artist. The encoder itself still learns from
    every song (unlike hiding the artist before encoding, which cost a point of accuracy).
    ``fit_classifier`` leaves it out of the fitted pipeline: it does nothing at predict time.
    """

    def __init__(self, rate: float = 0.3, random_state: int | None = 0) -> None:
        self.rate = rate
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any = None) -> ArtistDropout:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        if y is None or self.rate <= 0:
            return X
        frequency = pd.Series(np.asarray(y).astype(str)).value_counts(normalize=True).sort_index()
        if len(frequency) == 2:  # binary: one column, the probability of the second label
            prior = {ARTIST_COLUMN: frequency.iloc[1]}
        else:
            prior = {f"{ARTIST_COLUMN}_{label}": p for label, p in frequency.items()}
        hidden = np.random.default_rng(self.random_state).random(len(X)) < self.rate
        X = X.copy()
        for column, p in prior.items():
            if column in X.columns:
                X.loc[hidden, column] = p
        return X


def build_classifier(**params: Any) -> Pipeline:
    """An unfitted pipeline that accepts a typed songs DataFrame with the Kaggle columns."""
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise TypeError(f"unknown classifier parameter(s): {', '.join(sorted(unknown))}")
    p = {**DEFAULT_PARAMS, **params}
    use_artist = bool(p.pop("use_artist"))
    artist_dropout = float(p.pop("artist_dropout"))
    encoders: list[tuple[str, Any, list[str]]] = [
        ("numeric", "passthrough", list(NUMERIC_FEATURES))
    ]
    if use_artist:
        encoders.append(("artist", _lead_artist_encoder(p["random_state"]), [ARTIST_COLUMN]))
    encode = ColumnTransformer(encoders, verbose_feature_names_out=False).set_output(
        transform="pandas"
    )
    booster = HistGradientBoostingClassifier(categorical_features=list(CATEGORICAL_FEATURES), **p)
    steps: list[tuple[str, Any]] = [("encode", encode)]
    if use_artist and artist_dropout > 0:
        steps.append(("artist_dropout", ArtistDropout(artist_dropout, p["random_state"])))
    return Pipeline([*steps, ("model", booster)])


def serving_pipeline(model: Pipeline) -> Pipeline:
    """The fitted pipeline without its fit-time-only steps (``ArtistDropout``, an identity at
    predict time): same predictions, stock scikit-learn parts only."""
    return Pipeline([(n, step) for n, step in model.steps if not isinstance(step, ArtistDropout)])


def fit_classifier(train: pd.DataFrame, threads: int | None = 1, **params: Any) -> Pipeline:
    """Build and fit on ``train`` (labels: ``track_genre``) with at most ``threads`` OpenMP threads.

    HistGradientBoosting's OpenMP threads busy-wait for each other: on 2 cores shared with other
    busy processes (parallel Dagster steps) a 2-thread fit measured 67 s against 2.3 s on one
    thread. ``threads=None`` lifts the limit.
    """
    from threadpoolctl import threadpool_limits

    if TARGET not in train.columns:
        raise ValueError(f"training table lacks the label column {TARGET!r}")
    unlabelled = train[TARGET].isna()
    if unlabelled.any():
        raise ValueError(f"{TARGET} is missing at row {train.index[unlabelled.to_numpy()][0]}")
    model = build_classifier(**params)
    with threadpool_limits(limits=threads, user_api="openmp"):
        model.fit(train, train[TARGET].astype(str).to_numpy())
    return serving_pipeline(model)


def evaluate(model: Any, songs: pd.DataFrame) -> dict[str, Any]:
    """Test-split metrics: accuracy, macro-F1, log-loss, per-class report, confusion matrix."""
    if TARGET not in songs.columns:
        raise ValueError(f"songs table lacks the label column {TARGET!r}")
    if songs.empty:
        raise ValueError("cannot evaluate the classifier on an empty songs table")
    y_true = songs[TARGET].astype(str).to_numpy()
    proba = model.predict_proba(songs)
    classes = np.asarray(model.classes_).astype(str)
    y_pred = classes[proba.argmax(axis=1)]
    labels = sorted(set(classes) | set(y_true))
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    result: dict[str, Any] = {
        "n_samples": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        # Defined only when every true genre is one the model knows.
        "log_loss": (
            float(log_loss(y_true, proba, labels=list(classes)))
            if set(y_true) <= set(classes)
            else None
        ),
        "per_class": {label: {k: float(v) for k, v in report[label].items()} for label in labels},
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }
    return result
