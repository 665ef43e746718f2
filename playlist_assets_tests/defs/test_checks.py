"""The blocking Great Expectations checks, run by Dagster on bad inputs.

A stand-in ``raw_spotify_tracks`` (same key as the real one) returns each bad frame; a stand-in
``new_tracks`` writes hourly partitions the way the feed does. Each test asserts what a user
sees: whether the check passed, what its description says, and whether anything downstream
was materialized in that run.
"""

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource
from dagster_duckdb_pandas import DuckDBPandasIOManager

from playlist_assets.defs.checks import (
    new_tracks_great_expectations,
    raw_spotify_tracks_great_expectations,
)
from playlist_assets.defs.partitions import hourly_partitions
from playlist_assets.defs.songs import songs_base
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import KAGGLE_COLUMNS
from playlist_assets.settings import DEFAULT_GENRES

SOURCE = "/data/tracks.csv"
HOURS = ["2026-11-01-00:00", "2026-11-01-01:00", "2026-11-01-02:00"]


def clean_tracks(per_genre: int = 12, seed: int = 0) -> pd.DataFrame:
    frame = generate_tracks(per_genre, list(DEFAULT_GENRES), seed=seed)
    return frame.drop_duplicates("track_id").reset_index(drop=True)


def resources(tmp_path: Path) -> dict:
    database = str(tmp_path / "warehouse.duckdb")
    return {
        "io_manager": DuckDBPandasIOManager(database=database, schema="main"),
        "warehouse": DuckDBResource(database=database),
    }


def catalogue_asset(frame: pd.DataFrame) -> dg.AssetsDefinition:
    @dg.asset(name="raw_spotify_tracks")
    def raw_spotify_tracks() -> dg.Output:
        return dg.Output(frame, metadata={"source_path": dg.MetadataValue.path(SOURCE)})

    return raw_spotify_tracks


def run_catalogue(frame: pd.DataFrame, tmp_path: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [catalogue_asset(frame), raw_spotify_tracks_great_expectations, songs_base],
        resources=resources(tmp_path),
        raise_on_error=False,
    )


def warehouse_rows(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def only_check(result: dg.ExecuteInProcessResult):
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_clean_catalogue_passes_and_links_its_data_docs(tmp_path, data_home):
    result = run_catalogue(clean_tracks().assign(lyrics="la"), tmp_path)
    assert result.success
    assert materialized(result) == {"raw_spotify_tracks", "validated_songs", "quarantined_tracks"}
    check = only_check(result)
    assert check.passed
    assert check.description == f"{SOURCE}: all 53 expectations passed on 120 rows."
    meta = check.metadata
    assert meta["expectations_failed"].value == 0
    assert meta["extra_columns_ignored"].value == "lyrics"
    assert "| ✅ | tempo_in_range |" in meta["expectations"].value
    docs = Path(meta["data_docs"].value)
    assert docs.is_file() and docs.is_relative_to(data_home / "reports" / "data_docs")
    assert meta["data_docs_url"].value == docs.as_uri()


def _with_text_tempo(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(tempo=frame["tempo"].astype(str))
    frame.loc[2, "tempo"] = "fast"
    return frame


def _many_out_of_range(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[:11, "energy"] = 1.5
    return frame


BLOCKING_CASES = {
    "missing column": (
        lambda f: f.drop(columns=["tempo"]),
        "all 20 Kaggle columns must be present (extra columns are ignored) (missing: tempo)",
    ),
    "renamed column": (
        lambda f: f.rename(columns={"track_genre": "genre"}),
        "(missing: track_genre)",
    ),
    "string in numeric column": (
        _with_text_tempo,
        "tempo must be a numeric column (found text: non-numeric value(s) 'fast' in row 3)",
    ),
    "too many values out of range": (
        _many_out_of_range,
        "energy must be >= 0 and <= 1: 12 of 120 rows (10.0%) break it",
    ),
    "feature entirely null": (
        lambda f: f.assign(acousticness=np.nan),
        "acousticness must not be missing (NaN/null): 120 of 120 rows (100.0%) break it, more "
        "than the 5% allowed (the column is entirely empty)",
    ),
    "header-only file": (
        lambda f: pd.DataFrame({c: pd.Series(dtype="string") for c in KAGGLE_COLUMNS}),
        "empty batch: 0 rows (at least 100 required)",
    ),
}


@pytest.mark.parametrize("case", list(BLOCKING_CASES))
def test_bad_catalogue_fails_the_check_and_blocks_everything_downstream(case, tmp_path, data_home):
    make, message = BLOCKING_CASES[case]
    result = run_catalogue(make(clean_tracks()), tmp_path)
    assert not result.success
    assert "validated_songs" not in materialized(result)
    assert "quarantined_tracks" not in materialized(result)
    check = only_check(result)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description.startswith(f"Blocked: {SOURCE} fails the catalogue suite: ")
    assert message in check.description
    assert check.metadata["expectations_failed"].value >= 1


def test_a_few_bad_rows_pass_the_gate_and_are_named_in_the_metadata(tmp_path, data_home):
    frame = clean_tracks()
    frame.loc[0, "tempo"] = 0.0
    frame.loc[1, "track_id"] = "not-an-id"
    result = run_catalogue(frame, tmp_path)
    assert result.success
    check = only_check(result)
    assert check.passed
    assert check.description == (
        f"{SOURCE}: all 53 expectations passed on 120 rows. Rows left to validated_songs' "
        "quarantine or de-duplication: tempo_in_range 1, track_id_shape 1."
    )
    violations = check.metadata["row_rule_violations"].value
    assert "tempo_in_range: 1 row(s)" in violations
    assert "track_id_shape: 1 row(s)" in violations
    assert "| ✅ | tempo_in_range | expect_column_values_to_be_between | 1 of 120 unexpected" in (
        check.metadata["expectations"].value
    )


# --- hourly partitions -----------------------------------------------------------------


def _hour(key: str) -> pd.Timestamp:
    start = hourly_partitions.time_window_for_partition_key(key).start
    return pd.Timestamp(start).tz_convert("UTC").tz_localize(None)


def feed_asset(batches: dict[str, pd.DataFrame]) -> dg.AssetsDefinition:
    """A stand-in for the feed's ``new_tracks``: the given frame per hour (empty if absent)."""

    @dg.asset(
        name="new_tracks",
        partitions_def=hourly_partitions,
        metadata={"partition_expr": "partition_hour"},
    )
    def new_tracks(context: dg.AssetExecutionContext) -> pd.DataFrame:
        parts = []
        for key in context.partition_keys:
            part = batches.get(key, clean_tracks().iloc[0:0])
            parts.append(part.assign(partition_hour=_hour(key), source=f"replay:{key}"))
        return pd.concat(parts, ignore_index=True)

    return new_tracks


@dg.asset(partitions_def=hourly_partitions, deps=["new_tracks"])
def drift_stand_in() -> None:
    """Stands for feature_drift: whatever runs downstream of new_tracks in the hourly job."""


def run_hours(batches, tmp_path, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [feed_asset(batches), new_tracks_great_expectations, drift_stand_in],
        resources=resources(tmp_path),
        raise_on_error=False,
        **kwargs,
    )


def test_a_good_hour_passes_its_partitioned_check(tmp_path, data_home):
    result = run_hours({HOURS[0]: clean_tracks(per_genre=2)}, tmp_path, partition_key=HOURS[0])
    assert result.success
    check = only_check(result)
    assert (check.passed, check.partition) == (True, HOURS[0])
    assert check.description == f"new_tracks {HOURS[0]}: all 53 expectations passed on 20 rows."
    assert check.metadata["extra_columns_ignored"].value == "none"
    assert "drift_stand_in" in materialized(result)


def test_a_bad_hour_fails_its_check_and_blocks_what_runs_after_it(tmp_path, data_home):
    bad = clean_tracks(per_genre=2).assign(tempo=0.0)
    result = run_hours({HOURS[1]: bad}, tmp_path, partition_key=HOURS[1])
    assert not result.success
    check = only_check(result)
    assert (check.passed, check.partition, check.severity) == (
        False,
        HOURS[1],
        dg.AssetCheckSeverity.ERROR,
    )
    assert check.description == (
        f"Blocked: new_tracks partition {HOURS[1]}: tempo must be > 0 and <= 250: 20 of 20 "
        "rows (100.0%) break it, more than the 5% allowed (e.g. 0.0, 0.0, 0.0)"
    )
    assert materialized(result) == {"new_tracks"}


def test_an_empty_hour_warns_without_blocking(tmp_path, data_home):
    result = run_hours({}, tmp_path, partition_key=HOURS[2])
    assert result.success
    check = only_check(result)
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert (
        check.description
        == f"new_tracks {HOURS[2]}: empty batch, no tracks arrived (nothing to validate)."
    )
    assert "drift_stand_in" in materialized(result)


def test_a_range_run_judges_every_hour_on_its_own(tmp_path, data_home):
    good = clean_tracks(per_genre=2)
    bad = clean_tracks(per_genre=2, seed=3).assign(valence=7.0)
    result = run_hours(
        {HOURS[0]: good, HOURS[1]: bad},
        tmp_path,
        tags={
            "dagster/asset_partition_range_start": HOURS[0],
            "dagster/asset_partition_range_end": HOURS[2],
        },
    )
    assert not result.success
    check = only_check(result)
    assert not check.passed
    assert check.description.startswith(f"Blocked: new_tracks partition {HOURS[1]}: valence must")
    # Per-hour verdicts are rows in the warehouse, not a run-wide table on the check event.
    assert (check.metadata["hours_passed"].value, check.metadata["hours_failed"].value) == (1, 1)
    assert check.metadata["hours_empty"].value == 1
    verdicts = warehouse_rows(
        tmp_path, "select batch, rows, accepted from main.quality_verdicts order by batch"
    )
    assert verdicts == [(HOURS[0], 20, True), (HOURS[1], 20, False)]


def test_the_real_catalogue_asset_reading_a_file_without_a_column_is_blocked(
    tmp_path, data_home, monkeypatch
):
    from playlist_assets.defs.catalogue import raw_spotify_tracks
    from playlist_assets.defs.resources import build_resources

    path = tmp_path / "tracks.csv"
    clean_tracks().drop(columns=["valence"]).to_csv(path)  # with the Kaggle index column
    monkeypatch.setenv("PLAYLIST_TRACKS_CSV", str(path))
    result = dg.materialize(
        [raw_spotify_tracks, raw_spotify_tracks_great_expectations, songs_base],
        resources=build_resources(),
        raise_on_error=False,
    )
    assert not result.success
    assert materialized(result) == {"raw_spotify_tracks"}
    check = only_check(result)
    assert check.description == (
        f"Blocked: {path} fails the catalogue suite: all 20 Kaggle columns must be present "
        "(extra columns are ignored) (missing: valence)"
    )


def test_a_range_run_does_not_block_tracks_fed_again_in_a_later_hour(tmp_path, data_home):
    same = clean_tracks(per_genre=2)
    result = run_hours(
        {HOURS[0]: same, HOURS[1]: same},
        tmp_path,
        tags={
            "dagster/asset_partition_range_start": HOURS[0],
            "dagster/asset_partition_range_end": HOURS[1],
        },
    )
    assert result.success
    check = only_check(result)
    assert check.passed
    assert check.description == (
        f"new_tracks {HOURS[0]}..{HOURS[1]}: all 2 hours with tracks passed (40 rows, 0 empty hour(s))."
    )
    assert check.metadata["expectations_scope"].value == (
        "the whole range as one batch; the gate is per hour"
    )
    assert "drift_stand_in" in materialized(result)
