"""Model files: atomic writes, one-line errors, and files written before lib/ became packages."""

import pickle

import pytest

from playlist_assets.lib.classifier.artifacts import (
    ArtifactCorrupt,
    ArtifactMissing,
    load_artifact,
    write_pickle_atomic,
)
from playlist_assets.lib.classifier.models import ClusterModel


def test_a_model_file_written_before_the_move_still_loads(tmp_path):
    path = tmp_path / "genre_cluster_models" / "rock"
    # protocol 0 names classes as text lines, so the old module path can be written in
    new = pickle.dumps(ClusterModel.__new__(ClusterModel), protocol=0)
    path.parent.mkdir()
    path.write_bytes(
        new.replace(b"playlist_assets.lib.classifier.models\n", b"playlist_assets.lib.models\n")
    )
    assert b"playlist_assets.lib.models\n" in path.read_bytes()
    assert isinstance(load_artifact(path, "genre_cluster_models/rock"), ClusterModel)


def test_missing_and_corrupt_files_name_the_file_and_the_asset(tmp_path):
    with pytest.raises(ArtifactMissing, match="asset genre_classifier not found"):
        load_artifact(tmp_path / "nope", "genre_classifier")
    path = tmp_path / "genre_classifier"
    write_pickle_atomic(path, {"a": 1})
    path.write_bytes(path.read_bytes()[:5])
    with pytest.raises(ArtifactCorrupt, match=f"{path} is truncated.*genre_classifier"):
        load_artifact(path, "genre_classifier")
