from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drift_data import inject_drift, make_tracks  # noqa: E402

from playlist_assets.lib.classifier.models import ClassifierBundle
from playlist_assets.lib.drift.champion import classifier_drift
from playlist_assets.lib.drift.measure import DriftThresholds, measure_drift, prepare_reference
from playlist_assets.lib.drift.stats import (
    population_stability_index,
    prediction_mix,
    total_variation,
)
from playlist_assets.lib.schema import AUDIO_FEATURES


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_tracks(3000, seed=1)


@pytest.fixture(scope="module")
def bundle(reference: pd.DataFrame) -> ClassifierBundle:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = list(AUDIO_FEATURES)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(reference[features], reference["track_genre"])
    test = make_tracks(600, seed=2)
    return ClassifierBundle(
        model=model,
        feature_columns=features,
        reference=reference,
        reference_prediction_mix=prediction_mix(model.predict(test[features])),
        metrics={},
        version="7",
    )


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    base = np.array([0.25, 0.25, 0.25, 0.25])
    assert population_stability_index(base, base) == 0.0
    small = population_stability_index(base, np.array([0.3, 0.2, 0.25, 0.25]))
    large = population_stability_index(base, np.array([0.7, 0.1, 0.1, 0.1]))
    assert 0 < small < 0.1 < 0.2 < large


def test_total_variation_of_label_mixes() -> None:
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1.0
    assert total_variation({"a": 0.6, "b": 0.4}, {"a": 0.4, "b": 0.4, "c": 0.2}) == pytest.approx(
        0.2
    )
    assert prediction_mix(["x", "y", "x", "x"]) == {"x": 0.75, "y": 0.25}


def test_reference_bins_follow_its_quantiles_and_levels(reference: pd.DataFrame) -> None:
    prepared = prepare_reference(reference, n_bins=10)
    energy = prepared.features["energy"]
    # Ten quantile bins of the reference each hold about a tenth of it.
    assert energy.levels is None and len(energy.edges) == 9
    assert np.allclose(energy.shares, 0.1, atol=0.01)
    # Discrete features are binned by value, with one extra bin for unseen values.
    mode = prepared.features["mode"]
    assert list(mode.levels) == [0.0, 1.0] and len(mode.shares) == 3
    counts = mode.counts(np.array([0.0, 1.0, 1.0, 7.0]))
    assert list(counts) == [1, 2, 1]


def test_partition_from_the_same_distribution_is_not_drifted(reference: pd.DataFrame) -> None:
    report = measure_drift(prepare_reference(reference), make_tracks(200, seed=3))
    assert report.drifted is False
    assert report.drift_score < 1.0
    assert report.reason.startswith("no drift")
    assert list(report.features["feature"]) == list(AUDIO_FEATURES)


def test_injected_drift_flags_the_moved_features(reference: pd.DataFrame) -> None:
    report = measure_drift(prepare_reference(reference), inject_drift(make_tracks(200, seed=3)))
    assert report.drifted is True
    assert set(report.drifted_features) == {"energy", "danceability", "acousticness", "loudness"}
    assert report.share_drifted == pytest.approx(4 / 12)
    assert report.drift_score >= 1.0
    assert "energy" in report.reason and report.reason.startswith("drifted")
    markdown = report.features_markdown()
    assert markdown.splitlines()[0].startswith("| feature |") and "| energy | 200 |" in markdown


def test_one_feature_that_moved_far_is_enough(reference: pd.DataFrame) -> None:
    tracks = make_tracks(200, seed=9)
    tracks["valence"] = (tracks["valence"] + 0.3).clip(0, 1)
    report = measure_drift(prepare_reference(reference), tracks)
    assert report.drifted_features == ["valence"] and report.share_drifted < 0.25
    assert report.strongest_feature == "valence" and report.strongest_psi >= 0.75
    assert report.drifted is True
    assert "strongest valence PSI" in report.reason
    # The same move in a partition too small to judge is not drift.
    assert measure_drift(prepare_reference(reference), tracks.head(20)).drifted is False


@pytest.mark.parametrize("n", [0, 5])
def test_too_few_tracks_is_not_judged(reference: pd.DataFrame, n: int) -> None:
    few = inject_drift(make_tracks(n, seed=4))
    report = measure_drift(
        prepare_reference(reference), few, thresholds=DriftThresholds(min_tracks=30)
    )
    assert report.drifted is False
    assert report.reason == f"too few tracks to judge: {n} < min_tracks 30"
    assert report.n_tracks == n
    assert not report.features["drifted"].any()


def test_missing_values_and_columns_are_not_counted(reference: pd.DataFrame) -> None:
    tracks = make_tracks(100, seed=5).drop(columns=["tempo"])
    tracks.loc[:9, "energy"] = np.nan
    report = measure_drift(prepare_reference(reference), tracks)
    by_feature = report.features.set_index("feature")
    assert by_feature.loc["energy", "n"] == 90
    assert by_feature.loc["tempo", "n"] == 0 and np.isnan(by_feature.loc["tempo", "psi"])
    assert report.drifted is False


def test_ks_matches_scipy(reference: pd.DataFrame) -> None:
    from scipy.stats import ks_2samp

    current = make_tracks(150, seed=6)
    report = measure_drift(prepare_reference(reference), current)
    rows = report.features.set_index("feature")
    # Every feature, ties included (mode and key are a few integer levels); the p-value is an
    # approximation, close where the thresholds lie.
    for feature, row in rows.iterrows():
        expected = ks_2samp(reference[feature], current[feature])
        assert row["ks_statistic"] == pytest.approx(expected.statistic), feature
        tolerance = 0.001 if expected.pvalue < 0.1 else 0.03
        assert row["ks_pvalue"] == pytest.approx(expected.pvalue, abs=tolerance), feature


def test_ks_pvalue_is_close_to_scipy_where_drift_is_decided() -> None:
    from scipy.stats import ks_2samp

    from playlist_assets.lib.drift.stats import ks_two_sample

    rng = np.random.default_rng(8)
    reference = np.sort(rng.normal(size=9_000))
    for shift in (0.2, 0.4, 0.6, 0.8):
        hour = rng.normal(shift, size=40)
        statistic, pvalue = ks_two_sample(reference, hour)
        expected = ks_2samp(reference, hour)
        assert statistic == pytest.approx(expected.statistic)
        assert pvalue == pytest.approx(
            expected.pvalue, abs=0.001 if expected.pvalue < 0.1 else 0.03
        )


def test_prediction_mix_shift_alone_can_flag_drift(bundle: ClassifierBundle) -> None:
    # Only edm tracks arrive: every feature is in the reference's range but the genre mix is not.
    edm_only = make_tracks(600, seed=7)
    edm_only = edm_only[edm_only["track_genre"] == "edm"]
    thresholds = DriftThresholds(share_drifted=1.0, single_feature_psi=100, prediction_shift=0.3)
    report = classifier_drift(bundle, edm_only, thresholds=thresholds)
    assert report.prediction_shift == pytest.approx(
        1 - bundle.reference_prediction_mix["edm"], abs=0.05
    )
    assert report.drifted is True
    assert "predicted-genre mix shift" in report.reason


def test_classifier_drift_on_a_normal_and_a_drifted_partition(bundle: ClassifierBundle) -> None:
    normal = classifier_drift(bundle, make_tracks(200, seed=8))
    assert normal.drifted is False
    assert normal.prediction_shift is not None and normal.prediction_shift < 0.3
    drifted = classifier_drift(bundle, inject_drift(make_tracks(200, seed=8)))
    assert drifted.drifted is True


def test_invalid_thresholds_name_the_field() -> None:
    with pytest.raises(ValueError, match="ks_pvalue=2"):
        DriftThresholds(ks_pvalue=2)


def test_reference_without_a_feature_is_refused(reference: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"lacks feature column\(s\) \['tempo'\]"):
        prepare_reference(reference.drop(columns=["tempo"]))
