"""The gate's own decisions, without Great Expectations: what is missing, what a check says."""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import pandas as pd
import pytest

from playlist_assets.lib.quality import gate
from playlist_assets.lib.quality.judge import Judgment, PartVerdict


def connector(path: str):
    @contextmanager
    def connect():
        with duckdb.connect(path) as conn:
            yield conn

    return connect


def test_catching_up_without_a_staged_catalogue_names_the_table_and_the_source(tmp_path) -> None:
    connect = connector(str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(gate.CatalogueMissing) as caught:
        gate.catch_up(connect, "/data/tracks.csv", str, data_docs_dir=tmp_path)
    assert str(caught.value) == (
        "main.raw_spotify_tracks does not exist: materialize raw_spotify_tracks first "
        "(source /data/tracks.csv)"
    )
    assert gate.read_hours(connect, pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-02")).empty


def _verdict(label: str, *problems: str) -> PartVerdict:
    return PartVerdict(label, f"new_tracks:{label}", None, 10, problems, 0)


def test_a_blocked_range_names_its_first_failed_hours_and_counts_the_rest() -> None:
    hours = [f"2026-11-01-{h:02d}:00" for h in range(8)]
    verdicts = [_verdict(hours[0])] + [_verdict(h, "empty batch") for h in hours[1:]]
    judgment = Judgment(None, verdicts, pd.DataFrame(), pd.DataFrame())
    description, problems = gate.hours_blocked_text(judgment)
    assert description.startswith("Blocked: new_tracks partition 2026-11-01-01:00: empty batch | ")
    assert description.count("new_tracks partition") == gate.LISTED
    assert description.endswith(" | and 2 more hour(s)")
    assert problems.splitlines()[0] == "- 2026-11-01-01:00: empty batch"
    assert gate.range_label(hours) == "2026-11-01-00:00..2026-11-01-07:00"
    assert gate.batch_slug(gate.range_label(hours)) == "2026-11-01-0000_to_2026-11-01-0700"
