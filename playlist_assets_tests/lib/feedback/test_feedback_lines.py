"""An hour's landing lines: accepted rows, and every unusable line kept with its reason."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from playlist_assets.lib.feedback import store
from playlist_assets.lib.feedback.contract import FEEDBACK_DIR, IMPRESSIONS_DIR
from playlist_assets.lib.feedback.lines import load_hour

START, END = datetime(2026, 11, 1, 10), datetime(2026, 11, 1, 11)


def impression(rid: str, *, arm: str = "champion", user: str = "u1", **extra) -> dict:
    return {
        "request_id": rid,
        "time": "2026-11-01T10:15:00.000Z",
        "user": user,
        "key_id": None,
        "model_version": "v1",
        "strategy": "hybrid",
        "arm": arm,
        "k": 3,
        "seeds": ["s1"],
        "ranked": ["a", "b", "c"],
        **extra,
    }


def feedback(rid: str, track: str, event: str = "added", **extra) -> dict:
    return {
        "request_id": rid,
        "track_id": track,
        "event": event,
        "time": "2026-11-01T10:20:00.000Z",
        "user": "u1",
        "key_id": None,
        **extra,
    }


def write(landing: Path, kind: str, lines: list[object], *, compact: bool = False) -> None:
    """The lines as a batch file (``json.dumps``'s spaces) or, ``compact``, as the API writes
    them (the judging's fast path for impressions)."""
    folder = landing / kind / "2026-11-01T10"
    folder.mkdir(parents=True, exist_ok=True)
    separators = (",", ":") if compact else None
    text = "".join(
        (x if isinstance(x, str) else json.dumps(x, separators=separators)) + "\n" for x in lines
    )
    (folder / "api-1-1.jsonl").write_text(text + '{"request_id": "cut')


def stored(conn: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return store.read_hour(conn, table, START, END)


def rejects(conn: duckdb.DuckDBPyConnection, table: str) -> dict[int, str]:
    frame = stored(conn, table)
    return dict(zip(frame["row_number"], frame["reason"], strict=True))


@pytest.mark.parametrize("compact", [False, True], ids=["batch file", "as the API writes"])
def test_bad_impressions_are_kept_with_their_reason(tmp_path: Path, compact: bool) -> None:
    write(
        tmp_path,
        IMPRESSIONS_DIR,
        [
            impression("r1"),
            impression("r2", arm="challenger", user="u2", time="2026-11-01T12:15:00+02:00"),
            "{not json",
            "[1, 2]",
            impression("r3", arm="treatment"),
            impression("r4", time="2026-11-01T11:00:00.000Z"),
            impression("r5", ranked="abc"),
            {k: v for k, v in impression("r6").items() if k != "model_version"},
            impression("r1"),
            impression("r7", k=0),
            impression("r8", seeds=["s1", 3]),
            impression("r9", user=""),
            impression("r10", time="yesterday"),
            "",
            impression("r11", time="2026-11-01T10:59:59.999"),
            impression("r12", k=2.5),
            impression("r13", user=7),
            impression("r14", ranked=["a", None]),
            '{"request_id":5,' + json.dumps(impression("r15"), separators=(",", ":"))[1:],
            impression("r16", time="2026-11-01T10:30:00+02:00"),  # 08:30 UTC
        ],
        compact=compact,
    )
    conn = duckdb.connect()
    summary = load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    rows = stored(conn, store.IMPRESSIONS_TABLE)
    assert rows["request_id"].tolist() == ["r1", "r2", "r11"]
    assert list(rows["ranked"].iloc[0]) == ["a", "b", "c"] and rows["k"].tolist() == [3] * 3
    assert rows["time"].dt.minute.tolist() == [15, 15, 59]  # +02:00 is UTC 10:15
    reasons = rejects(conn, store.IMPRESSIONS_REJECTS_TABLE)
    assert reasons[3] == "not JSON" and reasons[4] == "not a JSON object"
    assert "arm treatment" in reasons[5]
    assert "outside the hour" in reasons[6]
    assert reasons[7] == "field ranked is not a list of track ids"
    assert reasons[8] == "missing field model_version"
    assert reasons[9] == "duplicate request_id (counted once)"
    assert reasons[10] == "field k is not a positive integer"
    assert reasons[11] == "field seeds is not a list of track ids"
    assert reasons[12] == "field user is not a non-empty string"
    assert reasons[13] == "field time is not an ISO 8601 time"
    assert reasons[16] == "field k is not a positive integer"
    assert reasons[17] == "field user is not a non-empty string"
    assert reasons[18] == "field ranked is not a list of track ids"
    assert reasons[19] == "field request_id is not a non-empty string"  # its first request_id
    assert "outside the hour" in reasons[20]
    assert len(reasons) == 16  # the blank line and the cut last line are not read at all
    assert (summary.rows, summary.rejected, summary.counts) == (
        3,
        16,
        {"champion": 2, "challenger": 1},
    )
    kept = stored(conn, store.IMPRESSIONS_REJECTS_TABLE).set_index("row_number")
    assert json.loads(kept.loc[5, "row_json"])["arm"] == "treatment"  # the line as it came
    # the same hour again replaces it
    load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    assert len(stored(conn, store.IMPRESSIONS_TABLE)) == 3


def test_feedback_joins_what_was_served(tmp_path: Path) -> None:
    write(tmp_path, IMPRESSIONS_DIR, [impression("r1"), impression("r2", arm="challenger")])
    write(
        tmp_path,
        FEEDBACK_DIR,
        [
            feedback("r1", "b"),
            feedback("r1", "b"),  # a repeat counts once
            feedback("r1", "z"),  # not shown
            feedback("nope", "a"),  # unknown request
            feedback("r2", "a", "loved"),  # unknown event
            feedback("r2", "c", "skipped"),
            feedback("r2", 7, "skipped"),  # not a track id
        ],
    )
    conn = duckdb.connect()
    load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    summary = load_hour(conn, tmp_path, FEEDBACK_DIR, START, END)
    rows = stored(conn, store.FEEDBACK_TABLE)
    assert rows[["track_id", "rank", "arm"]].values.tolist() == [
        ["b", 2, "champion"],
        ["c", 3, "challenger"],
    ]
    assert summary.counts == {"added": 1, "skipped": 1}
    reasons = rejects(conn, store.FEEDBACK_REJECTS_TABLE)
    assert reasons[2] == "duplicate event (request_id, track_id, event) counted once"
    assert reasons[3] == "track z was not in that request's ranked list"
    assert reasons[4].startswith("request_id nope is not among the impressions")
    assert reasons[5].startswith("unknown event loved")
    assert reasons[7] == "field track_id is not a non-empty string"
    load_hour(conn, tmp_path, FEEDBACK_DIR, START, END)  # idempotent
    assert conn.execute(f"select count(*) from {store.FEEDBACK_TABLE}").fetchone() == (2,)
    # the same events again an hour later are duplicates of the stored ones
    later = tmp_path / "later"
    write(later, IMPRESSIONS_DIR, [])
    folder = later / FEEDBACK_DIR / "2026-11-01T11"
    folder.mkdir(parents=True)
    moved = [feedback("r1", "b", time="2026-11-01T11:20:00.000Z")]
    (folder / "api.jsonl").write_text("".join(json.dumps(x) + "\n" for x in moved))
    again = load_hour(conn, later, FEEDBACK_DIR, END, datetime(2026, 11, 1, 12))
    assert again.rows == 0 and again.reasons == (
        "duplicate event (request_id, track_id, event) already stored in an earlier hour",
    )


def test_a_repeated_event_is_named_a_repeat_whatever_served_it(tmp_path: Path) -> None:
    """The first line of an event gets what is wrong with it; its repeats are repeats."""
    write(tmp_path, IMPRESSIONS_DIR, [impression("r1")])
    lines = [feedback("r1", "z"), feedback("r1", "z"), feedback("nope", "a"), feedback("nope", "a")]
    write(tmp_path, FEEDBACK_DIR, lines)
    conn = duckdb.connect()
    load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    assert load_hour(conn, tmp_path, FEEDBACK_DIR, START, END).rows == 0
    reasons = rejects(conn, store.FEEDBACK_REJECTS_TABLE)
    assert reasons[1] == "track z was not in that request's ranked list"
    assert reasons[3].startswith("request_id nope is not among the impressions")
    repeat = "duplicate event (request_id, track_id, event) counted once"
    assert reasons[2] == reasons[4] == repeat


@pytest.mark.parametrize("compact", [False, True], ids=["batch file", "as the API writes"])
def test_feedback_of_an_earlier_api_build_still_loads(tmp_path: Path, compact: bool) -> None:
    """Earlier builds wrote what served the event on each line: still read, and what is stored
    comes from the impression either way."""
    write(tmp_path, IMPRESSIONS_DIR, [impression("r1", arm="challenger")], compact=compact)
    old = {"arm": "champion", "model_version": "old-build"}  # not what the impression says
    lines = [feedback("r1", "a"), feedback("r1", "b", **old), feedback("r1", "c", arm=7)]
    write(tmp_path, FEEDBACK_DIR, lines, compact=compact)
    conn = duckdb.connect()
    load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    summary = load_hour(conn, tmp_path, FEEDBACK_DIR, START, END)
    assert summary.rejected == 0
    rows = stored(conn, store.FEEDBACK_TABLE)
    assert rows[["track_id", "rank", "arm", "model_version"]].values.tolist() == [
        ["a", 1, "challenger", "v1"],
        ["b", 2, "challenger", "v1"],
        ["c", 3, "challenger", "v1"],
    ]


def test_a_file_that_is_not_utf8_still_loads_line_by_line(tmp_path: Path) -> None:
    folder = tmp_path / IMPRESSIONS_DIR / "2026-11-01T10"
    folder.mkdir(parents=True)
    good = json.dumps(impression("r1")).encode()
    (folder / "batch.jsonl").write_bytes(good + b"\n\xff\xfe{oops\n" + good.replace(b"r1", b"r2"))
    conn = duckdb.connect()
    summary = load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    assert (summary.rows, summary.rejected) == (1, 1)  # r2 has no newline yet: not read
    (reject,) = stored(conn, store.IMPRESSIONS_REJECTS_TABLE).to_dict("records")
    assert reject["reason"] == "not JSON" and reject["row_json"].startswith("\ufffd\ufffd{oops")


def test_an_hour_whose_only_fault_is_a_repeated_request_keeps_its_first_line(
    tmp_path: Path,
) -> None:
    """Every line valid and written as the API writes them, one request twice: the first line is
    stored, the second kept aside as a repeat (an hour is stored straight from its judging only
    when nothing was kept aside and each request came once)."""
    write(
        tmp_path,
        IMPRESSIONS_DIR,
        [impression("r1"), impression("r2", user="u2"), impression("r1", user="u3")],
        compact=True,
    )
    conn = duckdb.connect()
    summary = load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    rows = stored(conn, store.IMPRESSIONS_TABLE)
    assert list(zip(rows["request_id"], rows["user"], strict=True)) == [("r1", "u1"), ("r2", "u2")]
    assert rejects(conn, store.IMPRESSIONS_REJECTS_TABLE) == {
        3: "duplicate request_id (counted once)"
    }
    assert (summary.rows, summary.rejected, summary.counts) == (2, 1, {"champion": 2})


@pytest.mark.parametrize("kind", [IMPRESSIONS_DIR, FEEDBACK_DIR])
def test_each_row_names_its_own_file_and_line(tmp_path: Path, kind: str) -> None:
    """An hour of two files (two API processes, or a client's batch file beside the API's):
    every stored row and every rejected line says which file and line it came from."""
    folder = tmp_path / kind / "2026-11-01T10"
    folder.mkdir(parents=True)
    if kind == FEEDBACK_DIR:
        write(tmp_path, IMPRESSIONS_DIR, [impression("r1"), impression("r2")], compact=True)
        load_hour(duckdb.connect(tmp_path / "w.duckdb"), tmp_path, IMPRESSIONS_DIR, START, END)
        first, second = [feedback("r1", "a"), "{oops"], ["", feedback("r2", "b"), "[1]"]
    else:
        first, second = [impression("r1"), "{oops"], ["", impression("r2"), "[1]"]
    for name, lines in (("api-1-1.jsonl", first), ("batch-2.jsonl", second)):
        text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
        (folder / name).write_text(text)
    conn = duckdb.connect(tmp_path / "w.duckdb")
    load_hour(conn, tmp_path, kind, START, END)
    table, rejects_table = (
        (store.IMPRESSIONS_TABLE, store.IMPRESSIONS_REJECTS_TABLE)
        if kind == IMPRESSIONS_DIR
        else (store.FEEDBACK_TABLE, store.FEEDBACK_REJECTS_TABLE)
    )
    rows = stored(conn, table)
    assert [(Path(s).name, n) for s, n in zip(rows["source"], rows["line"], strict=True)] == [
        ("api-1-1.jsonl", 1),
        ("batch-2.jsonl", 2),
    ]
    kept = stored(conn, rejects_table)
    assert [
        (Path(s).name, n, r)
        for s, n, r in zip(kept["source"], kept["row_number"], kept["reason"], strict=True)
    ] == [("api-1-1.jsonl", 2, "not JSON"), ("batch-2.jsonl", 3, "not a JSON object")]


def test_a_file_turning_invalid_between_reads_is_decoded_here(tmp_path: Path, monkeypatch) -> None:
    """A write caught mid-character between DuckDB's reads must not fail the hour."""
    write(tmp_path, IMPRESSIONS_DIR, [impression("r1"), "{not json"])
    from playlist_assets.lib.feedback import lines

    real = lines.judge_lines

    def flaky(conn, kind, start, end, calls=[]):  # noqa: ANN001, ANN202, B006 - counts calls
        calls.append(kind)
        if len(calls) == 1:
            raise duckdb.InvalidInputException("read_text: not valid UTF-8")
        return real(conn, kind, start, end)

    monkeypatch.setattr(lines, "judge_lines", flaky)
    summary = load_hour(duckdb.connect(), tmp_path, IMPRESSIONS_DIR, START, END)
    assert (summary.rows, summary.reasons) == (1, ("not JSON",))


def test_an_impression_stored_twice_in_its_hour_answers_its_feedback_once(tmp_path: Path) -> None:
    """Rows written by anything else (here a copy of a stored impression) must not double
    the feedback that answers it."""
    write(tmp_path, IMPRESSIONS_DIR, [impression("r1")])
    write(tmp_path, FEEDBACK_DIR, [feedback("r1", "b"), feedback("r1", "c", "skipped")])
    conn = duckdb.connect()
    load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    table = store.IMPRESSIONS_TABLE
    conn.execute(f"insert into {table} select * from {table}")  # the same request twice
    summary = load_hour(conn, tmp_path, FEEDBACK_DIR, START, END)
    assert (summary.rows, summary.rejected) == (2, 0)
    assert stored(conn, store.FEEDBACK_TABLE)["rank"].tolist() == [2, 3]


def test_an_hour_whose_only_fault_is_a_repeated_event_keeps_its_first_line(
    tmp_path: Path,
) -> None:
    """Every feedback line accepted by itself, one event twice: the first line is stored, the
    second kept aside as a repeat (lines are grouped by their key only when a key may be there
    twice)."""
    write(tmp_path, IMPRESSIONS_DIR, [impression("r1")])
    lines = [
        feedback("r1", "a"),
        feedback("r1", "b", "skipped"),
        feedback("r1", "a", user="u2"),  # the same event again
        feedback("r1", "a", "liked"),  # another event of the same song
    ]
    write(tmp_path, FEEDBACK_DIR, lines, compact=True)
    conn = duckdb.connect()
    load_hour(conn, tmp_path, IMPRESSIONS_DIR, START, END)
    summary = load_hour(conn, tmp_path, FEEDBACK_DIR, START, END)
    rows = stored(conn, store.FEEDBACK_TABLE)
    assert list(zip(rows["track_id"], rows["event"], rows["user"], strict=True)) == [
        ("a", "added", "u1"),
        ("b", "skipped", "u1"),
        ("a", "liked", "u1"),
    ]
    assert rejects(conn, store.FEEDBACK_REJECTS_TABLE) == {
        3: "duplicate event (request_id, track_id, event) counted once"
    }
    assert (summary.rows, summary.rejected) == (3, 1)
