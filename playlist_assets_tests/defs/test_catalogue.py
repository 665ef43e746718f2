"""``raw_spotify_tracks``: where the catalogue comes from and how an unusable file fails."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from playlist_assets.defs.catalogue import raw_spotify_tracks
from playlist_assets.defs.resources import build_resources
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.settings import DEFAULT_GENRES


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


# --- a rejected file never replaces the last accepted catalogue ----------------------------


def _songs(data_home: Path) -> set[str]:
    import duckdb

    with duckdb.connect(str(data_home / "warehouse.duckdb"), read_only=True) as conn:
        return {r[0] for r in conn.execute("select track_id from main.validated_songs").fetchall()}


def test_a_rejected_catalogue_blocks_its_run_and_retrains_keep_the_last_good_one(
    data_home: Path, tmp_path: Path
) -> None:
    from playlist_assets.defs.checks import raw_spotify_tracks_great_expectations
    from playlist_assets.defs.songs import songs_base

    path = tmp_path / "tracks.csv"
    good = generate_tracks(12, list(DEFAULT_GENRES), seed=2).drop_duplicates("track_id")
    good.to_csv(path, index=False)
    instance = dg.DagsterInstance.ephemeral()
    assets = [raw_spotify_tracks, raw_spotify_tracks_great_expectations, songs_base]

    def run(**kwargs) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            assets,
            resources=build_resources(),
            run_config={} if "selection" in kwargs else _config(path),
            instance=instance,
            raise_on_error=False,
            **kwargs,
        )

    assert run().success
    accepted = _songs(data_home)
    assert accepted

    # The file is replaced by a broken one: a word in a numeric column types it as text.
    bad = good.astype({"tempo": object})
    bad.loc[3, "tempo"] = "fast"
    bad.to_csv(path, index=False)
    blocked = run()
    assert not blocked.success
    (check,) = blocked.get_asset_check_evaluations()
    assert not check.passed and "tempo must be a numeric column" in check.description
    assert check.metadata["in_use"].value.startswith("the last accepted catalogue")
    done = {e.asset_key.to_user_string() for e in blocked.get_asset_materialization_events()}
    assert done == {"raw_spotify_tracks"}  # kept as it came, visible with its check result

    # A retrain later (no check in its run) still reads the last accepted catalogue.
    retrain = run(selection=["validated_songs", "quarantined_tracks"])
    assert retrain.success
    assert _songs(data_home) == accepted

    # Fixed file: passes and is promoted.
    fixed = good.assign(popularity=50)
    fixed.to_csv(path, index=False)
    assert run().success
    assert _songs(data_home) == set(fixed["track_id"])


def test_a_blank_explicit_value_quarantines_its_row_only(data_home: Path, tmp_path: Path) -> None:
    import duckdb

    from playlist_assets.defs.checks import raw_spotify_tracks_great_expectations
    from playlist_assets.defs.songs import songs_base

    path = tmp_path / "tracks.csv"
    frame = generate_tracks(12, list(DEFAULT_GENRES), seed=4)
    frame = frame.drop_duplicates("track_id").reset_index(drop=True)
    text = frame.to_csv(index=False).splitlines()
    header = text[0].split(",")
    row = text[3].split(",")
    row[header.index("explicit")] = ""
    text[3] = ",".join(row)
    path.write_text("\n".join(text) + "\n")
    result = dg.materialize(
        [raw_spotify_tracks, raw_spotify_tracks_great_expectations, songs_base],
        resources=build_resources(),
        run_config=_config(path),
        raise_on_error=False,
    )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and "explicit_not_null 1" in check.description
    with duckdb.connect(str(data_home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("select row_number, reason from main.quarantined_tracks").fetchall()
    assert rows == [(3, "explicit must not be missing (NaN/null) (got null)")]
