"""The listeners' hourly assets on hand-written landing lines: stored, quarantined, gated, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from playlist_assets import settings
from playlist_assets.defs import feedback as feedback_defs
from playlist_assets.defs.feedback import (
    online_metrics,
    recommendation_feedback,
    recommendation_impressions,
)
from playlist_assets.defs.feedback_promotion import promote_challenger_job
from playlist_assets.lib.feedback import store

KEY = "2026-11-01-10:00"
ASSETS = [recommendation_impressions, recommendation_feedback, online_metrics]  # with the checks


def _line(**fields) -> str:
    return json.dumps(fields) + "\n"


def land(kind: str, text: str, hour: str = "2026-11-01T10") -> None:
    folder = settings.landing_dir() / kind / hour
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "api-1-1.jsonl").open("a") as fh:
        fh.write(text)


def impression(rid: str, user: str, arm: str, minute: int = 5) -> str:
    return _line(
        request_id=rid,
        time=f"2026-11-01T10:{minute:02d}:00.000Z",
        user=user,
        key_id=None,
        model_version="v-champ" if arm == "champion" else "v-chall",
        strategy="hybrid",
        arm=arm,
        k=3,
        seeds=["s1", "s2"],
        ranked=["a", "b", "c"],
    )


def event(rid: str, track: str, name: str, user: str = "u1") -> str:
    return _line(
        request_id=rid,
        track_id=track,
        event=name,
        time="2026-11-01T10:30:00.000Z",
        user=user,
        key_id=None,
    )


def materialize(
    selection: dg.AssetSelection | None = None, key: str = KEY
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS,
        selection=selection,
        partition_key=key,
        resources={"warehouse": DuckDBResource(database=str(settings.warehouse_path()))},
        raise_on_error=False,
    )


def sql(query: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as conn:
        return conn.execute(query).fetchdf()


def test_an_hour_of_lines_becomes_tables_rejects_and_metrics_by_arm(data_home: Path) -> None:
    land(
        "impressions",
        impression("r1", "u1", "champion")
        + impression("r2", "u2", "challenger")
        + impression("r3", "u3", "champion")
        + "garbage\n"
        + impression("r4", "u4", "champion", minute=75 % 60).replace("10:15", "11:15")
        + impression("r1", "u1", "champion"),
    )
    land(
        "feedback",
        event("r1", "a", "added")
        + event("r1", "a", "added")  # repeat
        + event("r2", "b", "skipped", "u2")
        + event("r3", "z", "liked", "u3")  # not shown
        + event("missing", "a", "added")  # unknown request
        + event("r3", "c", "shared", "u3"),  # unknown event
    )
    assert materialize(key="2026-11-01-09:00").success  # an hour without traffic first
    result = materialize()
    assert result.success
    assert sql(f"select request_id from {store.IMPRESSIONS_TABLE} order by 1")[
        "request_id"
    ].tolist() == ["r1", "r2", "r3"]
    rejects = sql(f"select reason from {store.IMPRESSIONS_REJECTS_TABLE} order by row_number")
    assert [r.split(" ")[0] for r in rejects["reason"]] == ["not", "time", "duplicate"]
    fb_rejects = sql(f"select reason from {store.FEEDBACK_REJECTS_TABLE}")["reason"].tolist()
    assert len(fb_rejects) == 4 and any(
        "not in that request's ranked list" in r for r in fb_rejects
    )
    metrics = sql(f"select * from {store.METRICS_TABLE}").set_index("arm")
    assert metrics.loc["champion", "impressions"] == 2
    assert metrics.loc["champion", "acceptance_rate"] == 0.5
    assert metrics.loc["challenger", "skip_rate"] == 1.0
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 2 and all(c.passed for c in checks)

    # the dashboard's listeners section reads them
    from playlist_assets.dashboard import listeners

    shown = listeners.section()
    assert [type(x).__name__ for x in shown[:2]] == ["Figure", "Figure"]
    assert any(isinstance(x, pd.DataFrame) and "acceptance_rate" in x.columns for x in shown)

    # the same hour again replaces it
    assert materialize().success
    assert sql(f"select count(*) n from {store.FEEDBACK_TABLE}")["n"].iat[0] == 2
    assert sql(f"select count(*) n from {store.METRICS_TABLE}")["n"].iat[0] == 2


def _storing_also(monkeypatch, kind: str, tamper: str) -> None:  # noqa: ANN001
    """A bug in the reader: after the hour of ``kind`` is stored, ``tamper`` (SQL) runs on the
    same connection, before the asset's check judges what was stored."""
    real = feedback_defs.load_hour

    def load_hour(conn, landing, kind_, start, end):  # noqa: ANN001, ANN202
        summary = real(conn, landing, kind_, start, end)
        if kind_ == kind:
            conn.execute(tamper)
        return summary

    monkeypatch.setattr(feedback_defs, "load_hour", load_hour)


def test_a_failed_check_stops_the_online_metrics(data_home: Path, monkeypatch) -> None:  # noqa: ANN001
    land("impressions", impression("r1", "u1", "champion"))
    table = store.IMPRESSIONS_TABLE  # a row no reader should store: the request twice
    _storing_also(monkeypatch, "impressions", f"insert into {table} select * from {table}")
    result = materialize()
    assert not result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.asset_key == dg.AssetKey("recommendation_impressions")
    assert not check.passed and "request_id_unique: 1 stored row(s)" in (check.description or "")
    assert check.metadata["data_docs"].value  # a page for the hour someone must look at
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert done == {"recommendation_impressions"}  # stored and visible, nothing downstream


def test_feedback_stored_against_what_was_served_is_gated(data_home: Path, monkeypatch) -> None:  # noqa: ANN001
    land("impressions", impression("r1", "u1", "champion") + impression("r2", "u2", "champion"))
    land("feedback", event("r1", "a", "added") + event("r2", "b", "skipped", "u2"))
    table = store.FEEDBACK_TABLE  # rows no reader should store
    _storing_also(
        monkeypatch,
        "feedback",
        f"update {table} set track_id = 'zz' where request_id = 'r1'; "
        f"update {table} set time = time - interval 2 hour",
    )
    result = materialize()
    assert not result.success
    checks = {c.asset_key.to_user_string(): c for c in result.get_asset_check_evaluations()}
    assert checks["recommendation_impressions"].passed
    described = checks["recommendation_feedback"].description or ""
    assert not checks["recommendation_feedback"].passed
    assert "request_and_track_served: 1 stored row(s)" in described
    assert "time_inside_hour: 2 stored row(s)" in described
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "online_metrics" not in done and "recommendation_feedback" in done


def test_feedback_rows_the_load_did_not_judge_are_checked_against_the_warehouse(
    data_home: Path,
    monkeypatch,  # noqa: ANN001
) -> None:
    """The check reuses what the load staged (the lists served) only for the requests the load
    judged; a stored row of any other request is judged against the stored impressions."""
    land("impressions", "".join(impression(r, "u1", "champion") for r in ("r1", "r2")))
    land("feedback", event("r1", "a", "added"))
    table = store.FEEDBACK_TABLE  # r2 was served 'a' (no line for it); r9 was never served
    _storing_also(
        monkeypatch,
        "feedback",
        f"insert into {table} select * replace ('r2' as request_id) from {table}; "
        f"insert into {table} select * replace ('r9' as request_id) from {table} "
        "where request_id = 'r1'",
    )
    result = materialize()
    checks = {c.asset_key.to_user_string(): c for c in result.get_asset_check_evaluations()}
    assert not checks["recommendation_feedback"].passed
    described = checks["recommendation_feedback"].description or ""
    assert "request_and_track_served: 1 stored row(s)" in described  # r9's, not r2's


def test_promotion_on_online_evidence_is_logged_and_needs_evidence(data_home: Path) -> None:
    result = promote_challenger_job.execute_in_process(
        resources={"warehouse": DuckDBResource(database=str(settings.warehouse_path()))}
    )
    output = result.output_for_node("promote_challenger_on_online_evidence")
    assert output["action"] == "keep" and not output["acted"]
    assert "no challenger" in output["reason"]
