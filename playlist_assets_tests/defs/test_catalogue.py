"""``raw_spotify_tracks``: where the catalogue comes from and how an unusable file fails."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from playlist_assets.defs.catalogue import raw_spotify_tracks
from playlist_assets.defs.resources import build_resources
from playlist_assets.lib.sample_data import generate_tracks


def _run(run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [raw_spotify_tracks],
        resources=build_resources(),
        run_config=run_config or {},
        raise_on_error=False,
    )


def _config(path: Path) -> dict:
    return {"ops": {"raw_spotify_tracks": {"config": {"path": str(path)}}}}


def _failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data.user_failure_data.description


def test_first_run_writes_the_sample_and_stores_it(data_home: Path) -> None:
    result = _run()
    assert result.success
    frame = result.output_for_node("raw_spotify_tracks")
    assert (data_home / "sample" / "spotify_tracks.csv").exists()
    assert list(frame.columns)[:2] == ["track_id", "artists"]
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["missing_columns"].value == "none"


def test_environment_points_at_a_real_file(data_home: Path, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "tracks.csv.gz"
    generate_tracks(5, ["jazz", "rock"], seed=3).to_csv(path, compression="gzip")
    monkeypatch.setenv("PLAYLIST_TRACKS_CSV", str(path))
    result = _run()
    assert len(result.output_for_node("raw_spotify_tracks")) == 10
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["source_path"].value == str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"", "is empty (0 bytes)"), (b'a,b\n1,"open\n', "malformed CSV")],
)
def test_an_unusable_file_fails_naming_it_and_stores_nothing(
    data_home: Path, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "tracks.csv"
    if content is not None:
        path.write_bytes(content)
    result = _run(_config(path))
    assert not result.success
    description = _failure(result)
    assert str(path) in description and message in description
    assert not result.get_asset_materialization_events()


def test_a_file_without_required_columns_is_still_recorded_as_it_came(
    data_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "tracks.csv"
    generate_tracks(3, ["jazz"], seed=1).drop(columns=["tempo"]).to_csv(path)
    result = _run(_config(path))
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["missing_columns"].value == "tempo"
