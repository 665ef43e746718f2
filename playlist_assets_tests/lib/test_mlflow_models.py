"""Models logged to MLflow hold no reference to the project's code, and their pins are real."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from playlist_assets.lib.classifier import pipeline as clf
from playlist_assets.lib.classifier.models import fit_cluster_model
from playlist_assets.lib.mlflow_models import (
    MODEL_REQUIREMENTS,
    ModelNeedsProjectCode,
    check_stock_model,
    model_requirements,
    project_references,
)
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import TYPED_DTYPES

GENRES = ("classical", "edm", "hip-hop", "jazz")


@pytest.fixture(scope="module")
def songs():
    tracks = generate_tracks(40, GENRES, seed=0)
    tracks = tracks[tracks["track_genre"].isin(GENRES)].drop_duplicates("track_id")
    return tracks.astype(TYPED_DTYPES).reset_index(drop=True)


def test_the_fitted_classifier_is_made_of_stock_parts(songs):
    model = clf.fit_classifier(songs)
    assert project_references(model) == []
    check_stock_model(model)
    # The fit-time-only ArtistDropout is what referred to the project: it is left out.
    assert not any(isinstance(step, clf.ArtistDropout) for _, step in model.steps)


def test_cluster_models_are_made_of_stock_parts(songs):
    cluster = fit_cluster_model(songs[songs["track_genre"] == "jazz"], "jazz", 2)
    check_stock_model(cluster.pipeline())


def test_a_model_with_project_code_is_refused_by_name(songs):
    model = make_pipeline(FunctionTransformer(clf.prepare_features), clf.ArtistDropout())
    with pytest.raises(ModelNeedsProjectCode, match="ArtistDropout") as caught:
        check_stock_model(model)
    assert "prepare_features" in str(caught.value)


def test_requirements_pin_the_installed_versions():
    pins = dict(req.split("==") for req in model_requirements())
    assert set(pins) == set(MODEL_REQUIREMENTS)
    assert all(pins[name] == version(name) for name in pins)
