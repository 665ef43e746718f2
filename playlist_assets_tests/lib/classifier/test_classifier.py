import pickle

import numpy as np
import pandas as pd
import pytest

from playlist_assets.lib.classifier.pipeline import (
    DEFAULT_PARAMS,
    FEATURE_COLUMNS,
    build_classifier,
    evaluate,
    fit_classifier,
)
from playlist_assets.lib.schema import AUDIO_FEATURES, KAGGLE_COLUMNS, TYPED_DTYPES

GENRES = ("classical", "edm", "hip-hop", "jazz")


def songs(n_per_genre: int = 60, seed: int = 0, artist_pool: str = "per-genre") -> pd.DataFrame:
    """A typed Kaggle-format table whose genres differ by energy, acousticness and speechiness."""
    rng = np.random.default_rng(seed)
    centres = {
        "classical": (0.15, 0.9, 0.04),
        "edm": (0.9, 0.05, 0.06),
        "hip-hop": (0.65, 0.15, 0.35),
        "jazz": (0.35, 0.6, 0.05),
    }
    frames = []
    for g, (energy, acoustic, speech) in centres.items():
        n = n_per_genre
        frame = pd.DataFrame(
            {
                "track_id": [f"{g[:3]}{seed:04d}{i:015d}" for i in range(n)],
                "artists": (
                    [f"{g} artist {i % 5}" for i in range(n)]
                    if artist_pool == "per-genre"
                    else [f"stranger {seed} {g} {i}" for i in range(n)]
                ),
                "album_name": "an album",
                "track_name": [f"song {i}" for i in range(n)],
                "popularity": rng.integers(0, 100, n),
                "duration_ms": rng.integers(120_000, 360_000, n),
                "explicit": rng.random(n) < 0.2,
                "danceability": rng.uniform(0, 1, n),
                "energy": np.clip(rng.normal(energy, 0.05, n), 0, 1),
                "key": rng.integers(0, 12, n),
                "loudness": rng.uniform(-20, -3, n),
                "mode": rng.integers(0, 2, n),
                "speechiness": np.clip(rng.normal(speech, 0.02, n), 0, 1),
                "acousticness": np.clip(rng.normal(acoustic, 0.05, n), 0, 1),
                "instrumentalness": rng.uniform(0, 1, n),
                "liveness": rng.uniform(0, 1, n),
                "valence": rng.uniform(0, 1, n),
                "tempo": rng.uniform(60, 180, n),
                "time_signature": rng.choice([3, 4, 5], n),
                "track_genre": g,
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).loc[:, list(KAGGLE_COLUMNS)].astype(TYPED_DTYPES)


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return songs(seed=0)


@pytest.fixture(scope="module")
def model(train):
    return fit_classifier(train)


def test_learns_genres_from_the_audio_features_for_unseen_artists(model):
    # Every test artist is new, so only the audio features can carry the prediction.
    test = songs(n_per_genre=30, seed=1, artist_pool="strangers")
    assert evaluate(model, test)["accuracy"] >= 0.9


def test_accuracy_falls_to_chance_when_the_audio_signal_is_scrambled(model):
    test = songs(n_per_genre=30, seed=1, artist_pool="strangers")
    rng = np.random.default_rng(0)
    for column in AUDIO_FEATURES:
        test[column] = rng.permutation(test[column].to_numpy())
    assert evaluate(model, test)["accuracy"] < 0.5


def test_artist_seen_in_training_identifies_the_genre():
    train = songs(seed=0)
    audio_only = train.copy()
    # Audio identical across genres: only the lead artist tells them apart.
    for column in AUDIO_FEATURES:
        audio_only[column] = train[column].iloc[0]
    model = fit_classifier(audio_only)
    test = songs(seed=2)  # same artists, new tracks, and "Artist;Featured" lists
    test["artists"] = test["artists"] + ";someone featured"
    for column in AUDIO_FEATURES:
        test[column] = train[column].iloc[0]
    assert evaluate(model, test)["accuracy"] >= 0.95
    without_artist = fit_classifier(audio_only, use_artist=False)
    assert evaluate(without_artist, test)["accuracy"] < 0.5


def test_accepts_a_typed_table_with_extra_and_reordered_columns(model, train):
    test = songs(n_per_genre=10, seed=3)
    expected = model.predict_proba(test)
    shuffled = test.assign(playlist_count=7, note="extra")[list(reversed(test.columns)) + ["note"]]
    shuffled = shuffled.loc[:, ~shuffled.columns.duplicated()]
    np.testing.assert_array_equal(model.predict_proba(shuffled), expected)
    # The label column is not needed to predict.
    np.testing.assert_array_equal(
        model.predict_proba(test.drop(columns=["track_genre", "track_name"])), expected
    )


def test_posteriors_are_distributions_over_the_genres(model):
    proba = model.predict_proba(songs(n_per_genre=10, seed=4))
    assert proba.shape == (40, len(GENRES))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == sorted(GENRES)


def test_missing_values_and_nullable_dtypes_still_predict(model):
    test = songs(n_per_genre=5, seed=5)
    test["popularity"] = test["popularity"].astype("Int64")
    test.loc[0, "popularity"] = pd.NA
    test["explicit"] = test["explicit"].astype("boolean")
    test.loc[1, "explicit"] = pd.NA
    test.loc[2, "artists"] = pd.NA
    test.loc[3, "tempo"] = np.nan
    proba = model.predict_proba(test)
    assert np.isfinite(proba).all()


def test_deterministic_given_the_same_data(train):
    test = songs(n_per_genre=10, seed=6)
    first = fit_classifier(train).predict_proba(test)
    second = fit_classifier(train.copy()).predict_proba(test)
    np.testing.assert_array_equal(first, second)


def test_survives_pickling(model):
    # The model IO manager and MLflow both pickle the fitted pipeline.
    test = songs(n_per_genre=5, seed=7)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(test), model.predict_proba(test))


def test_evaluate_reports_bounded_metrics_and_a_consistent_confusion_matrix(model):
    test = songs(n_per_genre=20, seed=8)
    result = evaluate(model, test)
    assert {
        "accuracy",
        "macro_f1",
        "log_loss",
        "per_class",
        "confusion_matrix",
        "n_samples",
    } <= set(result)
    for key in ("accuracy", "macro_f1"):
        assert 0.0 <= result[key] <= 1.0
    assert result["log_loss"] >= 0.0
    labels = result["confusion_matrix"]["labels"]
    matrix = np.array(result["confusion_matrix"]["matrix"])
    assert labels == sorted(GENRES)
    assert matrix.shape == (4, 4) and matrix.sum() == len(test) == result["n_samples"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(result["accuracy"])
    assert set(result["per_class"]) == set(GENRES)
    for scores in result["per_class"].values():
        assert 0.0 <= scores["f1-score"] <= 1.0
        assert scores["support"] == 20


def test_evaluate_handles_a_genre_the_model_never_saw(model):
    test = songs(n_per_genre=5, seed=9)
    test.loc[0, "track_genre"] = "polka"
    result = evaluate(model, test)
    assert "polka" in result["confusion_matrix"]["labels"]
    assert result["log_loss"] is None


def test_missing_feature_column_is_named(model, train):
    with pytest.raises(ValueError, match="popularity"):
        model.predict_proba(songs(n_per_genre=5).drop(columns=["popularity"]))
    with pytest.raises(ValueError, match="track_genre"):
        fit_classifier(train.drop(columns=["track_genre"]))


def test_unknown_parameter_is_refused():
    with pytest.raises(TypeError, match="max_depthh"):
        build_classifier(max_depthh=3)


def test_defaults_and_features_are_declared():
    assert set(AUDIO_FEATURES) <= set(FEATURE_COLUMNS)
    assert {"popularity", "duration_ms", "explicit", "artists"} <= set(FEATURE_COLUMNS)
    assert "track_genre" not in FEATURE_COLUMNS
    assert DEFAULT_PARAMS["random_state"] is not None
    assert set(DEFAULT_PARAMS) <= set(build_classifier().get_params()["model"].get_params()) | {
        "use_artist",
        "artist_dropout",
    }


def test_a_pipeline_pickled_before_the_stock_parts_still_predicts(train):
    # An old champion in the registry or an old model file refers to prepare_features and
    # ArtistDropout by name: both stay importable, so such a model still loads and predicts.
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, TargetEncoder

    from playlist_assets.lib.classifier.pipeline import (
        NUMERIC_FEATURES,
        ArtistDropout,
        prepare_features,
    )

    encode = ColumnTransformer(
        [
            ("numeric", "passthrough", list(NUMERIC_FEATURES)),
            ("a", TargetEncoder(), ["lead_artist"]),
        ]
    )
    old = Pipeline(
        [
            ("features", FunctionTransformer(prepare_features)),
            ("encode", encode.set_output(transform="pandas")),
            ("artist_dropout", ArtistDropout()),
            ("model", HistGradientBoostingClassifier(max_iter=5)),
        ]
    ).fit(train, train["track_genre"].astype(str))
    restored = pickle.loads(pickle.dumps(old))
    assert restored.predict(songs(n_per_genre=5, seed=10)).shape == (20,)
