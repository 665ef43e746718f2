"""An hour's landing lines: accepted rows, and every unusable line kept with its reason."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from playlist_assets.lib.feedback import store
from playlist_assets.lib.feedback.contract import FEEDBACK_DIR, IMPRESSIONS_DIR
from playlist_assets.lib.feedback.lines import judge_shown, read_hour

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


def write(landing: Path, kind: str, lines: list[object]) -> None:
    folder = landing / kind / "2026-11-01T10"
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    (folder / "api-1-1.jsonl").write_text(text + '{"request_id": "cut')


def test_bad_impressions_are_kept_with_their_reason(tmp_path: Path) -> None:
    write(
        tmp_path,
        IMPRESSIONS_DIR,
        [
            impression("r1"),
            impression("r2", arm="challenger", user="u2"),
            "{not json",
            "[1, 2]",
            impression("r3", arm="treatment"),
            impression("r4", time="2026-11-01T11:00:00.000Z"),
            impression("r5", ranked="abc"),
            {k: v for k, v in impression("r6").items() if k != "model_version"},
            impression("r1"),
        ],
    )
    hour = read_hour(tmp_path, IMPRESSIONS_DIR, START, END)
    assert hour.rows["request_id"].tolist() == ["r1", "r2"]
    assert hour.rows["ranked"].iloc[0] == ["a", "b", "c"]
    reasons = dict(zip(hour.rejects["row_number"], hour.rejects["reason"], strict=True))
    assert reasons[3].startswith("not JSON") and reasons[4] == "not a JSON object"
    assert "arm treatment" in reasons[5]
    assert "outside the hour" in reasons[6]
    assert reasons[7] == "field ranked is not a list of track ids"
    assert reasons[8] == "missing field model_version"
    assert reasons[9] == "duplicate request_id (counted once)"
    assert len(hour.rejects) == 7  # the cut last line is not read at all


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
        ],
    )
    conn = duckdb.connect()
    imp = read_hour(tmp_path, IMPRESSIONS_DIR, START, END)
    store.replace_hour(conn, {store.IMPRESSIONS_TABLE: imp.rows}, START, END)
    fb = read_hour(tmp_path, FEEDBACK_DIR, START, END)
    judged = judge_shown(fb.rows, store.shown(conn, fb.rows, START))
    assert judged.rows[["track_id", "rank", "arm"]].values.tolist() == [
        ["b", 2, "champion"],
        ["c", 3, "challenger"],
    ]
    reasons = sorted(pd.concat([fb.rejects, judged.rejects])["reason"])
    assert [r.split(" ")[0] for r in reasons] == ["duplicate", "request_id", "track", "unknown"]
    store.replace_hour(conn, {store.FEEDBACK_TABLE: judged.rows}, START, END)
    store.replace_hour(conn, {store.FEEDBACK_TABLE: judged.rows}, START, END)  # idempotent
    assert conn.execute(f"select count(*) from {store.FEEDBACK_TABLE}").fetchone() == (2,)
    # the same event again an hour later is a duplicate of the stored one
    later = datetime(2026, 11, 1, 11)
    again = judged.rows.assign(partition_hour=pd.Timestamp(later))
    repeat = judge_shown(again, store.shown(conn, again, later))
    assert repeat.rows.empty and repeat.rejects["reason"].str.contains("earlier hour").all()
