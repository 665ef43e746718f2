"""Each chart shows what its reading guidance promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playlist_assets.dashboard import drift_figures, figures


@pytest.fixture
def drift() -> pd.DataFrame:
    hours = pd.date_range("2026-11-01", periods=3, freq="h")
    rows = []
    for i, hour in enumerate(hours):
        for feature in ("energy", "tempo"):
            hot = i == 2 and feature == "energy"
            rows.append(
                {
                    "partition_hour": hour,
                    "feature": feature,
                    "psi": 0.5 if hot else 0.05,
                    "drifted": hot,
                }
            )
    return pd.DataFrame(rows)


def test_drift_heatmap_marks_drifted_cells_and_the_threshold(drift: pd.DataFrame) -> None:
    fig = drift_figures.drift_heatmap(drift, threshold=0.2)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (2, 3)  # features x partitions
    assert list(heat.y) == ["energy", "tempo"]
    assert heat.text[0][2] == "●" and heat.text[1][2] == ""
    assert "threshold 0.2" in heat.colorbar.ticktext[1]
    assert heat.zmax >= 0.5


def test_drift_timeline_draws_threshold_and_retraining_runs(drift: pd.DataFrame) -> None:
    scores = pd.DataFrame(
        {
            "partition_hour": drift["partition_hour"].unique(),
            "score": [0.1, 0.2, 1.6],
            "drifted": [False, False, True],
        }
    )
    retrains = pd.DataFrame(
        {"run_id": ["r1"], "status": ["SUCCESS"], "start_time": [pd.Timestamp("2026-11-01 02:30")]}
    )
    fig = drift_figures.drift_timeline(scores, retrains, threshold=1.0, y_title="drift score")
    shapes = fig.layout.shapes
    assert any(s.type == "line" and s.y0 == 1.0 and s.y1 == 1.0 for s in shapes)  # threshold
    # The retraining run (started 02:30) sits at the hour it answered, on the hours' own axis.
    assert any(s.type == "line" and s.x0 == "2026-11-01 02:00" for s in shapes)
    assert list(fig.data[0].x) == ["2026-11-01 00:00", "2026-11-01 01:00", "2026-11-01 02:00"]
    assert fig.data[0].marker.color[-1] == figures.FAIL_COLOR
    assert "1 drifted partition(s), 1 retraining run(s)" in fig.layout.title.text


def test_drift_heatmap_puts_materialized_hours_side_by_side_coloured_by_verdict() -> None:
    # Three materialized hours with a 20-hour gap, one of them drifted per the sensor's verdict.
    hours = pd.to_datetime(["2026-11-01 00:00", "2026-11-01 01:00", "2026-11-01 21:00"])
    drift = pd.DataFrame(
        [
            {"partition_hour": h, "feature": f, "psi": 0.05, "drifted": False}
            for h in hours
            for f in ("energy", "tempo")
        ]
    )
    verdicts = pd.DataFrame(
        {
            "partition_hour": hours,
            "drifted": [False, True, False],
            "drift_score": [0.2, 1.7, 0.4],
            "reason": ["", "energy moved", ""],
        }
    )
    fig = drift_figures.drift_heatmap(drift, threshold=0.2, verdicts=verdicts)
    heat, strip = fig.data
    labels = ["2026-11-01 00:00", "2026-11-01 01:00", "2026-11-01 21:00"]
    assert list(heat.x) == labels and list(strip.x) == labels  # one cell per hour, no filler
    assert fig.layout.xaxis.type == "category" and fig.layout.xaxis2.type == "category"
    assert list(strip.z[0]) == [0.0, 1.0, 0.0]  # the sensor's verdict of each hour
    assert [c[0] for c in strip.customdata[0]] == ["ok", "drifted", "ok"]
    assert "(1 drifted)" in fig.layout.title.text


def test_retraining_runs_never_push_the_axis_past_the_last_hour() -> None:
    scores = pd.DataFrame(
        {
            "partition_hour": pd.to_datetime(["2026-11-01 00:00", "2026-11-01 05:00"]),
            "score": [0.1, 1.5],
        }
    )
    retrains = pd.DataFrame(
        {
            "run_id": ["r1", "r0"],
            "status": ["SUCCESS", "SUCCESS"],
            # Wall-clock start months after the simulated hours; and one before any hour.
            "start_time": [pd.Timestamp("2027-03-01 12:00"), pd.Timestamp("2026-10-01")],
            "drifted_partitions": ["2026-11-01-05:00", ""],
        }
    )
    fig = drift_figures.drift_timeline(scores, retrains, threshold=1.0, y_title="drift score")
    assert list(fig.layout.xaxis.categoryarray) == ["2026-11-01 00:00", "2026-11-01 05:00"]
    assert list(fig.data[1].x) == ["2026-11-01 05:00"]  # r1 at the hour it answered; r0 left out


def test_drift_episodes_table_lists_newest_first() -> None:
    episodes = pd.DataFrame(
        {
            "started_hour": pd.to_datetime(["2026-11-01 03:00", "2026-11-02 07:00"]),
            "retrain_run_id": ["run-a", "run-b"],
            "outcome": ["champion kept", "promoted"],
            "detail": ["v3 0.96 vs 0.97", "v4 0.98 vs 0.97"],
        }
    )
    table = drift_figures.drift_episodes_table(episodes)
    assert list(table.columns) == [
        "episode started (hour)",
        "retraining run",
        "outcome",
        "detail",
    ]
    assert list(table["retraining run"]) == ["run-b", "run-a"]
    assert table["episode started (hour)"].iloc[0] == "2026-11-02 07:00"
    with pytest.raises(ValueError, match="outcome"):
        drift_figures.drift_episodes_table(episodes.drop(columns="outcome"))


def test_classifier_runs_star_the_champion() -> None:
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "start_time": pd.date_range("2026-11-01", periods=3, freq="D"),
            "metrics.accuracy": [0.6, 0.7, 0.65],
            "metrics.macro_f1": [0.58, 0.69, 0.64],
        }
    )
    fig = figures.classifier_runs(runs, champion_run_id="b")
    star = [t for t in fig.data if t.name == "champion"]
    assert len(star) == 1 and list(star[0].x) == [2] and list(star[0].y) == [0.69]
    assert {t.name for t in fig.data} == {"accuracy", "macro_f1", "champion"}
    assert not [t for t in figures.classifier_runs(runs, None).data if t.name == "champion"]


def test_confusion_matrix_colours_row_shares_and_prints_counts() -> None:
    matrix = pd.DataFrame([[8, 2], [1, 9]], index=["jazz", "rock"], columns=["jazz", "rock"])
    fig = figures.confusion_matrix(matrix)
    assert np.allclose(np.asarray(fig.data[0].z), [[0.8, 0.2], [0.1, 0.9]])
    assert np.asarray(fig.data[0].text).tolist() == [[8, 2], [1, 9]]


def test_eval_metrics_parse_slice_strategy_and_metric() -> None:
    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r2"],
            "start_time": pd.date_range("2026-11-01", periods=2, freq="D"),
            "metrics.all.hybrid.ndcg": [0.5, 0.55],
            "metrics.all.popular.r_precision": [0.1, 0.1],
            "metrics.cold_start.cooccurrence.hit_at_10": [0.7, np.nan],
            "metrics.all.cluster.cosine": [0.9, 0.92],
            "metrics.blend_hybrid.cooc": [6.0, 6.0],
            "metrics.accuracy": [1.0, 1.0],
        }
    )
    long = figures.eval_metrics_long(runs)
    triples = set(zip(long["slice"], long["strategy"], long["metric"], strict=True))
    assert triples == {
        ("all", "hybrid", "ndcg"),
        ("all", "popular", "r_precision"),
        ("cold_start", "cooccurrence", "hit_at_10"),
        ("all", "cluster", "cosine"),
    }
    assert len(long) == 7  # the NaN is dropped
    fig = figures.eval_runs(long)
    dashed = {t.name for t in fig.data if t.line.dash == "dash"}
    assert dashed == {"popular", "cluster"}
    assert "hybrid" in {t.name for t in fig.data}


def test_cosine_trend_has_rolling_mean_and_the_old_line() -> None:
    values = pd.DataFrame(
        {"hybrid": [0.1, 0.3, 0.2, 0.4], "cluster": [0.9] * 4}, index=[1, 2, 3, 4]
    )
    fig = figures.cosine_trend(values, window=2)
    rolling = {t.name: list(t.y) for t in fig.data if "rolling" in t.name}
    assert rolling["hybrid, rolling mean (2)"] == pytest.approx([0.1, 0.2, 0.25, 0.3])
    assert rolling["cluster, rolling mean (2)"] == pytest.approx([0.9] * 4)
    assert any(s.y0 == 0.15 for s in fig.layout.shapes)


def test_check_results_place_partitioned_checks_at_their_hour() -> None:
    checks = pd.DataFrame(
        {
            "asset": ["new_tracks", "new_tracks", "raw_spotify_tracks"],
            "check": ["schema", "schema", "schema"],
            "partition": ["2026-11-01-03:00", "2026-11-01-04:00", None],
            "passed": [True, False, True],
            "timestamp": pd.to_datetime(
                ["2026-11-02 00:00", "2026-11-02 00:00", "2026-11-02 05:00"]
            ),
            "run_id": ["a", "b", "c"],
        }
    )
    fig = figures.check_results(checks)
    by_axis = {}
    for trace in fig.data:
        by_axis.setdefault(trace.xaxis, []).append(trace)
    hourly, unpartitioned = by_axis["x"], by_axis["x2"]
    failed = next(t for t in hourly if t.name == "failed")
    assert list(failed.x) == [pd.Timestamp("2026-11-01 04:00")]
    passed = next(t for t in unpartitioned if t.name == "passed")
    assert list(passed.x) == [pd.Timestamp("2026-11-02 05:00")]
    assert fig.layout.xaxis.title.text == "partition hour"
    assert "1 failed" in fig.layout.title.text
