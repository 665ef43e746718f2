"""The quality rules: one definition, evaluated once by Great Expectations, judged per part.

The bad-input catalogue of the quality issue lives here at the DataFrame level (each case
asserts the exact outcome); ``defs/test_checks.py`` runs the same cases through Dagster.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from playlist_assets.defs.partitions import hour_key
from playlist_assets.lib.quality import (
    CATALOGUE_SUITE,
    NEW_TRACKS_SUITE,
    QUARANTINE_COLUMNS,
    Judgment,
    extra_columns,
    hour_parts,
    judge,
    row_to_json,
    run_suite,
    store,
    whole_frame,
)
from playlist_assets.lib.sample_data.generate import generate_tracks
from playlist_assets.lib.schema import KAGGLE_COLUMNS, TYPED_DTYPES
from playlist_assets.settings import DEFAULT_GENRES


def clean_tracks(per_genre: int = 12, seed: int = 0, genres=DEFAULT_GENRES) -> pd.DataFrame:
    """Valid Kaggle-format rows with unique track ids (120 rows by default)."""
    frame = generate_tracks(per_genre, list(genres), seed=seed)
    return frame.drop_duplicates("track_id").reset_index(drop=True)


def judged(frame: pd.DataFrame, suite=CATALOGUE_SUITE, source: str = "test.csv") -> Judgment:
    return judge(frame, suite, whole_frame(frame, "catalogue", source))


def batch_problems(frame: pd.DataFrame, suite=CATALOGUE_SUITE) -> list[str]:
    (verdict,) = judged(frame, suite).verdicts
    return list(verdict.problems)


def reasons_by_row(frame: pd.DataFrame, suite=CATALOGUE_SUITE) -> dict[int, str]:
    rejects = judged(frame, suite).rejects
    return dict(zip(rejects["row_number"], rejects["reason"], strict=True))


HOURS = ["2026-11-01-00:00", "2026-11-01-01:00"]


def with_hour(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.assign(partition_hour=pd.Timestamp(key[:10] + " " + key[11:]), source="replay")


def songs_base(catalogue: pd.DataFrame, hours: dict[str, pd.DataFrame] | None = None):
    """Judge and store the catalogue and the hours as the checks do, then combine them."""
    conn = duckdb.connect()
    now = pd.Timestamp("2026-11-02")
    store.store_catalogue(conn, judged(catalogue, source="c.csv"), "v1", now)
    if hours:
        frame = pd.concat([with_hour(f, k) for k, f in hours.items()], ignore_index=True)
        store.store_hours(conn, judge(frame, NEW_TRACKS_SUITE, hour_parts(frame, hour_key)), now)
    return store.combine(conn, list(DEFAULT_GENRES)), store.quarantined(conn)


# --- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "lo", "hi", "strict_min"),
    [
        ("danceability_in_range", 0, 1, False),
        ("valence_in_range", 0, 1, False),
        ("loudness_in_range", -60, 5, False),
        ("tempo_in_range", 0, 250, True),
        ("duration_ms_in_range", 0, None, True),
        ("popularity_in_range", 0, 100, False),
    ],
)
def test_range_rules_match_the_documented_ranges(rule, lo, hi, strict_min):
    for suite in (CATALOGUE_SUITE, NEW_TRACKS_SUITE):
        r = suite.rule(rule)
        assert (r.min_value, r.max_value, r.strict_min) == (lo, hi, strict_min)
        assert r.level == "row" and r.mostly == 0.95


def test_set_rules_and_minimum_rows():
    assert CATALOGUE_SUITE.rule("key_in_set").value_set == tuple(range(-1, 12))
    assert CATALOGUE_SUITE.rule("mode_in_set").value_set == (0, 1)
    assert CATALOGUE_SUITE.rule("time_signature_in_set").value_set == tuple(range(8))
    assert CATALOGUE_SUITE.min_rows == 100 and NEW_TRACKS_SUITE.min_rows == 1
    assert CATALOGUE_SUITE.rule("required_columns").columns == KAGGLE_COLUMNS


def test_the_real_looking_sample_passes_without_quarantine():
    frame = clean_tracks()
    judgment = judged(frame)
    assert judgment.outcome.success and judgment.verdicts[0].problems == ()
    assert len(judgment.rejects) == 0 and len(judgment.accepted) == len(frame)


# --- the bad-input catalogue (DataFrame level) ---------------------------------------------


def test_missing_column_rejects_the_batch():
    problems = batch_problems(clean_tracks().drop(columns=["tempo"]), CATALOGUE_SUITE)
    assert problems == [
        "all 20 Kaggle columns must be present (extra columns are ignored) (missing: tempo)"
    ]


def test_renamed_column_is_missing_and_the_new_name_is_noted():
    frame = clean_tracks().rename(columns={"tempo": "bpm"})
    judgment = judged(frame)
    assert list(judgment.verdicts[0].problems) == [
        "all 20 Kaggle columns must be present (extra columns are ignored) (missing: tempo)"
    ]
    assert judgment.extra_columns == ["bpm"]


def test_string_in_numeric_column_names_the_value_and_row():
    frame = clean_tracks()
    frame["tempo"] = frame["tempo"].astype(object)
    frame.loc[2, "tempo"] = "fast"
    # As pandas reads such a file: the whole column becomes text.
    frame["tempo"] = frame["tempo"].astype(str)
    problems = batch_problems(frame, CATALOGUE_SUITE)
    assert problems == [
        "tempo must be a numeric column (found text: non-numeric value(s) 'fast' in row 3)"
    ]


def test_nan_and_inf_rows_are_quarantined_with_their_rule():
    frame = clean_tracks()
    frame.loc[4, "energy"] = np.nan
    frame.loc[7, "loudness"] = -np.inf
    frame.loc[9, "tempo"] = np.inf
    assert batch_problems(frame, CATALOGUE_SUITE) == []
    assert reasons_by_row(frame) == {
        5: "energy must not be missing (NaN/null) (got NaN)",
        8: "loudness must be >= -60 and <= 5 (got -inf)",
        10: "tempo must be > 0 and <= 250 (got inf)",
    }


def test_out_of_range_rows_are_quarantined_with_every_rule_they_break():
    frame = clean_tracks()
    frame.loc[0, ["danceability", "key"]] = [1.5, 12]
    frame.loc[1, "tempo"] = 0.0
    frame.loc[2, "mode"] = 2
    frame.loc[3, "time_signature"] = 9
    frame.loc[5, "popularity"] = 101
    frame.loc[6, "duration_ms"] = 0
    assert reasons_by_row(frame) == {
        1: "danceability must be >= 0 and <= 1 (got 1.5); key must be an integer in -1..11 (got 12)",
        2: "tempo must be > 0 and <= 250 (got 0.0)",
        3: "mode must be 0 or 1 (got 2)",
        4: "time_signature must be an integer in 0..7 (got 9)",
        6: "popularity must be >= 0 and <= 100 (got 101)",
        7: "duration_ms must be > 0 (got 0)",
    }


def test_more_bad_rows_than_mostly_allows_rejects_the_batch():
    frame = clean_tracks()  # 120 rows: 6 bad = 5% passes, 7 bad = 5.8% fails
    frame.loc[:5, "valence"] = 2.0
    assert batch_problems(frame, CATALOGUE_SUITE) == []
    frame.loc[6, "valence"] = 2.0
    assert batch_problems(frame, CATALOGUE_SUITE) == [
        "valence must be >= 0 and <= 1: 7 of 120 rows (5.8%) break it, more than the 5% "
        "allowed (e.g. 2.0, 2.0, 2.0)"
    ]


def test_wrong_shape_track_ids_are_quarantined():
    frame = clean_tracks()
    frame.loc[0, "track_id"] = "abc"
    frame.loc[1, "track_id"] = "spotify:track:" + frame.loc[1, "track_id"]
    frame.loc[2, "track_id"] = "0123456789012345678901!"[:22].replace("1", "-")
    frame.loc[3, "track_id"] = None
    reasons = reasons_by_row(frame)
    assert reasons[1] == "track_id must be 22 base-62 characters (got 'abc')"
    assert reasons[2].startswith("track_id must be 22 base-62 characters (got 'spotify:track:")
    assert reasons[3].startswith("track_id must be 22 base-62 characters")
    assert reasons[4] == "track_id must not be missing (NaN/null) (got null)"


@pytest.mark.parametrize("genre", [None, "", "Hip Hop", "rock!", "123"])
def test_unknown_genres_are_quarantined(genre):
    frame = clean_tracks()
    frame["track_genre"] = frame["track_genre"].astype(object)
    frame.loc[0, "track_genre"] = genre
    reason = reasons_by_row(frame)[1]
    assert reason.startswith("track_genre must")


def test_plausible_genres_outside_the_configuration_are_out_of_scope_not_bad():
    catalogue = pd.concat(
        [clean_tracks(), clean_tracks(seed=1, genres=["acoustic", "ambient"])], ignore_index=True
    )
    base, _ = songs_base(catalogue)
    assert base.quarantined_rows == 0
    assert base.out_of_scope_rows == 24
    assert set(base.songs["track_genre"]) == set(DEFAULT_GENRES)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({c: pd.Series(dtype=object) for c in KAGGLE_COLUMNS}),  # header-only file
        clean_tracks().iloc[0:0],  # typed but empty
    ],
    ids=["header-only", "empty"],
)
def test_empty_batches_are_rejected(frame):
    assert batch_problems(frame, CATALOGUE_SUITE) == ["empty batch: 0 rows (at least 100 required)"]
    assert batch_problems(frame, NEW_TRACKS_SUITE) == ["empty batch: 0 rows (at least 1 required)"]


def test_too_few_rows_for_a_catalogue():
    assert batch_problems(clean_tracks(per_genre=5), CATALOGUE_SUITE) == [
        "the batch must hold at least 100 row(s) (found 50 row(s))"
    ]


def test_truncated_csv_keeps_the_complete_rows_and_quarantines_the_cut_one():
    frame = clean_tracks()
    text = frame.to_csv(index=False)
    cut = text[: text.rindex(",", 0, len(text) - 40)]  # the last line ends mid-row
    truncated = pd.read_csv(io.StringIO(cut))
    assert len(truncated) == len(frame)
    reasons = reasons_by_row(truncated)
    assert list(reasons) == [len(frame)]
    assert "track_genre must not be missing (NaN/null) (got NaN)" in reasons[len(frame)]


def test_extra_columns_are_accepted_and_noted():
    frame = clean_tracks().assign(lyrics="la la", year=2020)
    judgment = judged(frame)
    assert judgment.outcome.success
    assert judgment.extra_columns == ["lyrics", "year"]
    base, _ = songs_base(clean_tracks(), {HOURS[0]: frame.head(5)})
    assert base.ignored_columns == {HOURS[0]: "lyrics, year"}
    assert list(base.songs.columns) == list(TYPED_DTYPES)


def test_feed_bookkeeping_columns_are_not_extra():
    frame = clean_tracks().assign(partition_hour=pd.Timestamp("2026-11-01"), source="replay")
    assert extra_columns(frame) == []


def test_a_track_listed_twice_under_one_genre_is_a_duplicate_not_a_quarantine():
    frame = clean_tracks()
    frame = pd.concat([frame, frame.iloc[[0, 1]]], ignore_index=True)
    judgment = judged(frame)
    assert judgment.outcome.success
    dup = judgment.outcome.by_rule("track_listed_once_per_genre")
    assert dup.unexpected_count == 4  # both copies of both repeated rows
    assert judgment.verdicts[0].tolerated == (("track_listed_once_per_genre", 4),)
    base, _ = songs_base(frame)
    assert (base.duplicates_removed, base.quarantined_rows) == (2, 0)


# --- the songs base -------------------------------------------------------------------------


def test_songs_base_dedupes_newest_batch_first_and_first_occurrence_within_a_batch():
    catalogue = clean_tracks()
    first_id = catalogue.loc[0, "track_id"]
    # The real file lists a track under several genres: the first listing wins.
    repeat = catalogue.iloc[[0]].assign(
        track_genre="rock" if catalogue.loc[0, "track_genre"] != "rock" else "pop"
    )
    catalogue = pd.concat([catalogue, repeat], ignore_index=True)
    older = catalogue.iloc[[0]].assign(popularity=1)
    newer = catalogue.iloc[[0]].assign(popularity=99, track_genre="jazz")
    base, _ = songs_base(catalogue, {HOURS[0]: older, HOURS[1]: newer})
    row = base.songs.loc[base.songs["track_id"] == first_id]
    assert row[["popularity", "track_genre"]].values.tolist() == [[99, "jazz"]]
    assert base.duplicates_removed == 3
    assert base.songs["track_id"].is_unique
    assert base.counts_add_up()

    only_catalogue, _ = songs_base(catalogue)
    kept = only_catalogue.songs.loc[only_catalogue.songs["track_id"] == first_id, "track_genre"]
    assert kept.tolist() == [catalogue.loc[0, "track_genre"]]


def test_songs_base_excludes_failing_batches_whole_and_accounts_for_every_row():
    catalogue = clean_tracks()
    catalogue.loc[3, "tempo"] = -1.0
    bad_hour = clean_tracks(per_genre=1, seed=5).assign(energy=np.nan)
    base, q = songs_base(catalogue, {HOURS[0]: bad_hour})
    assert base.excluded == {
        HOURS[0]: "energy must not be missing (NaN/null): 10 of 10 rows (100.0%) break it, "
        "more than the 5% allowed (the column is entirely empty)"
    }
    assert (base.hours_included, base.hours_excluded) == (0, 1)
    assert list(q.columns) == list(QUARANTINE_COLUMNS)
    assert (q["source"] == "new_tracks:2026-11-01-00:00").sum() == len(bad_hour)
    assert q.loc[q["source"] == "c.csv", "row_number"].tolist() == [4]
    assert q["reason"].str.startswith("whole batch rejected: ").sum() == len(bad_hour)
    assert (
        base.input_rows
        == len(catalogue) + len(bad_hour)
        == (
            base.validated_rows
            + base.quarantined_rows
            + base.duplicates_removed
            + base.out_of_scope_rows
        )
    )
    assert base.songs.dtypes.astype(str).to_dict() == TYPED_DTYPES


def test_quarantined_rows_keep_the_original_row_as_json():
    frame = clean_tracks()
    frame.loc[0, "liveness"] = np.inf
    frame.loc[0, "energy"] = np.nan
    row = json.loads(judged(frame).rejects.loc[0, "row_json"])
    assert row["liveness"] == "inf" and row["energy"] is None
    assert row["track_id"] == frame.loc[0, "track_id"]
    assert json.loads(row_to_json({"t": pd.Timestamp("2026-11-01")}))["t"] == "2026-11-01 00:00:00"


# --- the judgment follows Great Expectations ---------------------------------------------


def _bad_frames() -> dict[str, pd.DataFrame]:
    base = clean_tracks()
    text_tempo = base.assign(tempo=base["tempo"].astype(str))
    text_tempo.loc[2, "tempo"] = "fast"
    many_bad = base.copy()
    many_bad.loc[:20, "energy"] = 1.7
    few_bad = base.copy()
    few_bad.loc[0, "tempo"] = 0.0
    few_bad.loc[1, "danceability"] = np.nan
    few_bad.loc[2, "track_id"] = "short"
    few_bad.loc[3, "valence"] = np.inf
    few_bad = pd.concat([few_bad, few_bad.iloc[[5]]], ignore_index=True)
    null_column = base.assign(liveness=np.nan)
    return {
        "clean": base,
        "missing column": base.drop(columns=["key"]),
        "string in numeric": text_tempo,
        "many out of range": many_bad,
        "few bad rows": few_bad,
        "entirely null": null_column,
        "header only": pd.DataFrame({c: pd.Series(dtype=object) for c in KAGGLE_COLUMNS}),
        "extra columns": base.assign(extra=1),
    }


def test_the_judgment_follows_great_expectations_on_every_case():
    frames = _bad_frames()
    judgments = {name: judged(frame) for name, frame in frames.items()}
    for name, judgment in judgments.items():
        outcome = judgment.outcome
        assert judgment.verdicts[0].accepted == outcome.success, name
        if not outcome.success:
            continue
        # Quarantined rows are exactly the rows Great Expectations lists for a row rule.
        listed = {
            i + 1 for e in outcome.expectations if e.level == "row" for i in e.unexpected_index
        }
        assert set(judgment.rejects["row_number"]) == listed, name
        assert len(judgment.accepted) + len(judgment.rejects) == len(frames[name]), name
    outcomes = {name: j.outcome for name, j in judgments.items()}
    failing = {name: {e.rule for e in o.failures if not e.error} for name, o in outcomes.items()}
    assert failing == {
        "clean": set(),
        "missing column": {"required_columns"},
        "string in numeric": {"tempo_is_numeric"},
        "many out of range": {"energy_in_range"},
        "few bad rows": set(),
        "entirely null": {"liveness_not_null"},
        "header only": {"row_count"},
        "extra columns": set(),
    }


def test_a_range_judges_each_hour_alone_and_a_repeat_across_hours_is_no_duplicate():
    good = with_hour(clean_tracks(per_genre=2), HOURS[0])
    again = with_hour(clean_tracks(per_genre=2), HOURS[1])  # the same tracks an hour later
    bad = with_hour(clean_tracks(per_genre=2, seed=3).assign(valence=7.0), HOURS[1])
    frame = pd.concat([good, again], ignore_index=True)
    judgment = judge(frame, NEW_TRACKS_SUITE, hour_parts(frame, hour_key))
    assert [(v.label, v.accepted, v.rows) for v in judgment.verdicts] == [
        (HOURS[0], True, 20),
        (HOURS[1], True, 20),
    ]
    frame = pd.concat([good, bad], ignore_index=True)
    judgment = judge(frame, NEW_TRACKS_SUITE, hour_parts(frame, hour_key))
    assert [v.accepted for v in judgment.verdicts] == [True, False]
    assert (
        judgment.verdicts[1]
        .problems[0]
        .startswith("valence must be >= 0 and <= 1: 20 of 20 rows (100.0%) break it")
    )
    # A rejected hour's rows are all kept aside with the reason; the good hour's are typed.
    assert (judgment.rejects["source"] == f"new_tracks:{HOURS[1]}").sum() == 20
    assert len(judgment.accepted) == 20


def test_a_blank_boolean_is_a_row_problem_not_a_wrong_type(tmp_path):
    from playlist_assets.lib.tracks_io import read_tracks_csv

    path = tmp_path / "tracks.csv"
    frame = clean_tracks()
    frame["explicit"] = frame["explicit"].astype(object)
    frame.loc[4, "explicit"] = None
    frame.to_csv(path, index=False)
    read = read_tracks_csv(path)
    assert batch_problems(read) == []
    assert reasons_by_row(read) == {5: "explicit must not be missing (NaN/null) (got null)"}


def test_suite_outcome_reports_samples_and_writes_data_docs(tmp_path):
    frame = _bad_frames()["few bad rows"]
    outcome = run_suite(frame, CATALOGUE_SUITE, data_docs_dir=tmp_path / "docs")
    tempo = outcome.by_rule("tempo_in_range")
    assert (tempo.success, tempo.unexpected_count, tempo.samples) == (True, 1, ("0.0",))
    assert outcome.by_rule("track_id_shape").samples == ("'short'",)
    assert outcome.docs_path is not None and outcome.docs_path.is_file()
    html = outcome.docs_path.read_text()
    assert "raw_spotify_tracks" in html and "tempo" in html
    assert (tmp_path / "docs" / "index.html").is_file()
    table = outcome.markdown()
    assert table.splitlines()[2].startswith("| ✅ | ")  # rows with unexpected values first
    assert "tempo_in_range" in table


def test_importing_the_quality_code_does_not_import_great_expectations():
    code = (
        "import sys, playlist_assets.lib.quality, playlist_assets.defs.checks, "
        "playlist_assets.defs.songs; print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_data_docs_keep_the_newest_page_and_do_not_pile_up_empty_folders(tmp_path):
    import os

    frame = clean_tracks()
    docs = tmp_path / "data_docs"
    pages = []
    for run in ("run-1", "run-2", "run-3"):
        judgment = judge(
            frame,
            CATALOGUE_SUITE,
            whole_frame(frame, "catalogue", "test.csv"),
            data_docs_dir=docs,
            batch_name="catalogue",
            run_name=run,
        )
        pages.append(judgment.outcome.docs_path)
        for folder in (p for p in docs.rglob("*") if p.is_dir()):
            os.utime(folder, (0, 0))  # as if the run were an hour ago
    assert pages[-1] is not None and pages[-1].is_file()
    # A run empties the previous run's folders (their page goes) and removes the older empty
    # ones: they never pile up.
    folders = {p.name for p in (docs / "validations").rglob("*") if p.is_dir()}
    assert "run-3" in folders and "run-1" not in folders
    empty = [p for p in (docs / "validations").rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert len(empty) <= 1
