"""Plotly figures of the dashboard, one function per chart, each from the frame a loader returns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from playlist_assets.dashboard.data import HOURLY_FORMAT

OLD_COSINE_LINE = 0.15
TEMPLATE = "plotly_white"
PASS_COLOR, FAIL_COLOR, ACCENT = "#2ca02c", "#d62728", "#1f77b4"
# Our strategy; every other one is a baseline (the old cluster method, popularity, frequency,
# plain co-occurrence) and is drawn dashed.
OURS = ("hybrid",)


def layout(fig: Any, title: str, height: int = 380) -> Any:
    """Title, template, height and margins shared by every chart."""
    fig.update_layout(
        title=title, template=TEMPLATE, height=height, margin=dict(l=60, r=20, t=60, b=50)
    )
    return fig


def songs_per_genre(frame: pd.DataFrame) -> Any:
    import plotly.express as px

    fig = px.bar(frame, x="genre", y="songs", text="songs", color_discrete_sequence=[ACCENT])
    fig.update_traces(textposition="outside", cliponaxis=False)
    return layout(fig, f"Songs base: {int(frame['songs'].sum()):,} validated songs per genre")


def tracks_per_partition(frame: pd.DataFrame) -> Any:
    import plotly.express as px

    frame = frame.assign(partition_hour=pd.to_datetime(frame["partition_hour"]))
    fig = px.bar(frame, x="partition_hour", y="tracks", color="source", barmode="stack")
    fig.update_xaxes(title="hourly partition")
    n = frame["partition_hour"].nunique()
    return layout(fig, f"New tracks per hourly partition ({n} partitions)")


def quarantine_reasons(frame: pd.DataFrame) -> Any:
    import plotly.express as px

    fig = px.bar(frame, x="rows", y="reason", color="source", orientation="h")
    fig.update_yaxes(title="", autorange="reversed")
    height = max(260, 60 + 34 * frame["reason"].nunique())
    return layout(fig, f"Quarantined rows and why ({int(frame['rows'].sum()):,} rows)", height)


def check_results(frame: pd.DataFrame) -> Any:
    """One marker per check evaluation: partitioned checks at their partition's hour, the others
    (the catalogue's) at their run time, each kind on its own time axis."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = frame.copy()
    frame["hour"] = pd.to_datetime(frame["partition"], format=HOURLY_FORMAT, errors="coerce")
    frame["label"] = frame["asset"] + " · " + frame["check"]
    panels = [
        (part, axis)
        for part, axis in (
            (frame[frame["hour"].notna()].assign(when=lambda f: f["hour"]), "partition hour"),
            (
                frame[frame["hour"].isna()].assign(when=lambda f: f["timestamp"]),
                "run time (unpartitioned checks)",
            ),
        )
        if len(part)
    ]
    rows = [part["label"].nunique() for part, _ in panels]
    # Pixels: title and margins, then per panel its rows of checks plus the time axis under it.
    height = 110 + sum(95 + 38 * n for n in rows) + 30 * (len(panels) - 1)
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        row_heights=[38 * n for n in rows],
        vertical_spacing=min(0.5, 120 / height) if len(panels) > 1 else 0.0,
    )
    for row, (part, axis) in enumerate(panels, start=1):
        for passed, name, color, symbol in (
            (True, "passed", PASS_COLOR, "circle"),
            (False, "failed", FAIL_COLOR, "x"),
        ):
            some = part[part["passed"] == passed]
            fig.add_trace(
                go.Scatter(
                    x=some["when"],
                    y=some["label"],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    marker=dict(color=color, symbol=symbol, size=11),
                    customdata=some[["partition", "run_id"]].fillna("—").to_numpy(),
                    hovertemplate="%{y}<br>partition %{customdata[0]}<br>run %{customdata[1]}"
                    "<extra></extra>",
                ),
                row=row,
                col=1,
            )
        fig.update_xaxes(title=axis, row=row, col=1)
        first, last = part["when"].min(), part["when"].max()
        if last - first < pd.Timedelta(hours=2):  # a lone run: show its hour, not milliseconds
            pad = pd.Timedelta(hours=1)
            fig.update_xaxes(range=[first - pad, last + pad], row=row, col=1)
    failed = int((~frame["passed"]).sum())
    return layout(fig, f"Data-quality checks: {len(frame)} evaluations, {failed} failed", height)


def classifier_runs(runs: pd.DataFrame, champion_run_id: str | None) -> Any:
    """Accuracy and macro-F1 of every classifier run; the registry's champion is starred."""
    import plotly.graph_objects as go

    runs = runs.sort_values("start_time").reset_index(drop=True)
    runs["n"] = range(1, len(runs) + 1)
    hover = (
        runs[["run_id"]].assign(when=runs["start_time"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_numpy()
    )
    fig = go.Figure()
    for metric, dash in (("accuracy", "solid"), ("macro_f1", "dot")):
        column = f"metrics.{metric}"
        if column in runs.columns:
            fig.add_trace(
                go.Scatter(
                    x=runs["n"],
                    y=runs[column],
                    mode="lines+markers",
                    name=metric,
                    line=dict(dash=dash),
                    customdata=hover,
                    hovertemplate=metric
                    + " %{y:.3f}<br>run %{customdata[0]}<br>%{customdata[1]}<extra></extra>",
                )
            )
    best = runs[runs["run_id"] == champion_run_id] if champion_run_id else runs.iloc[0:0]
    if len(best) and "metrics.macro_f1" in runs.columns:
        fig.add_trace(
            go.Scatter(
                x=best["n"],
                y=best["metrics.macro_f1"],
                mode="markers+text",
                marker=dict(
                    symbol="star", size=20, color="gold", line=dict(color="black", width=1)
                ),
                text=["champion"],
                textposition="top center",
                name="champion",
            )
        )
    scores = runs[[c for c in ("metrics.accuracy", "metrics.macro_f1") if c in runs.columns]]
    low, high = float(scores.min().min()), float(scores.max().max())
    fig.update_yaxes(title="test-split score", range=[max(0.0, low - 0.05), min(1.0, high + 0.03)])
    fig.update_xaxes(title="MLflow run (oldest to newest)", dtick=1)
    return layout(fig, f"Genre classifier across {len(runs)} MLflow runs (★ = champion)")


def confusion_matrix(matrix: pd.DataFrame, title: str = "Champion's confusion matrix") -> Any:
    import plotly.express as px

    shares = matrix.div(matrix.sum(axis=1).replace(0, 1), axis=0)
    fig = px.imshow(shares, color_continuous_scale="Blues", zmin=0, zmax=1, aspect="auto")
    fig.update_traces(
        text=matrix.to_numpy(),
        texttemplate="%{text}",
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text} songs (%{z:.0%})<extra></extra>",
    )
    fig.update_xaxes(title="predicted genre")
    fig.update_yaxes(title="true genre")
    fig.update_coloraxes(colorbar_title="share of row")
    return layout(fig, f"{title} (test split; colour = share of the true genre)", 480)


def cluster_quality(latest: pd.DataFrame) -> Any:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of each genre's latest cluster model."""
    from plotly.subplots import make_subplots

    panels = (
        ("metrics.silhouette", "silhouette (higher is better)"),
        ("metrics.calinski_harabasz", "Calinski-Harabasz (higher is better)"),
        ("metrics.davies_bouldin", "Davies-Bouldin (lower is better)"),
    )
    panels = tuple(p for p in panels if p[0] in latest.columns)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[title for _, title in panels])
    import plotly.graph_objects as go

    for i, (column, _) in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(x=latest["genre"], y=latest[column], marker_color=ACCENT, showlegend=False),
            row=1,
            col=i,
        )
    return layout(fig, f"Cluster quality per genre ({len(latest)} genres, latest run each)", 400)


# recommendation_eval logs ``<slice>.<strategy>.<metric>`` (slice: all, cold_start, ...).
_EVAL_METRIC = re.compile(
    r"^metrics\.(?:(?P<slice>[a-z_]+)\.)?(?P<strategy>[a-z0-9_]+)\."
    r"(?P<metric>r_precision|ndcg|clicks|hit_at_\d+|cosine)$"
)


def eval_metrics_long(runs: pd.DataFrame) -> pd.DataFrame:
    """``start_time, run_id, slice, strategy, metric, value``, one row per logged metric."""
    rows = []
    for column in runs.columns:
        match = _EVAL_METRIC.match(column)
        if not match:
            continue
        for start, run_id, value in zip(
            runs["start_time"], runs["run_id"], runs[column], strict=True
        ):
            if pd.notna(value):
                rows.append(
                    (
                        start,
                        run_id,
                        match["slice"] or "all",
                        match["strategy"],
                        match["metric"],
                        float(value),
                    )
                )
    return pd.DataFrame(
        rows, columns=["start_time", "run_id", "slice", "strategy", "metric", "value"]
    )


def _is_baseline(strategy: str) -> bool:
    return strategy not in OURS


def eval_runs(long: pd.DataFrame, metrics: Sequence[str] = ("ndcg", "r_precision")) -> Any:
    """Each strategy's evaluation metrics over runs; baselines dashed."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    long = long[long["slice"] == "all"]
    metrics = [m for m in metrics if m in set(long["metric"])] or sorted(set(long["metric"]))[:2]
    order = long.drop_duplicates("run_id").sort_values("start_time")["run_id"]
    long = long.assign(n=long["run_id"].map({r: i for i, r in enumerate(order, start=1)}))
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=metrics, shared_xaxes=True)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for s, strategy in enumerate(sorted(set(long["strategy"]))):
        for i, metric in enumerate(metrics, start=1):
            part = long[(long["strategy"] == strategy) & (long["metric"] == metric)]
            fig.add_trace(
                go.Scatter(
                    x=part["n"],
                    y=part["value"],
                    mode="lines+markers",
                    name=strategy,
                    legendgroup=strategy,
                    showlegend=i == 1,
                    line=dict(
                        color=palette[s % len(palette)],
                        dash="dash" if _is_baseline(strategy) else "solid",
                    ),
                ),
                row=1,
                col=i,
            )
    n_runs = long["run_id"].nunique()
    fig.update_xaxes(title="evaluation run (oldest to newest)", dtick=1)
    return layout(
        fig, f"Recommendation quality over {n_runs} evaluation run(s) — dashed = baselines", 400
    )


def cosine_trend(
    values: pd.DataFrame,
    window: int = 5,
    line: float = OLD_COSINE_LINE,
    x_title: str = "evaluation run (oldest to newest)",
) -> Any:
    """The old system's monitoring signal: cosine similarity between a playlist's mean features and
    its recommendations', per strategy (columns) over runs (index), rolling means and the 0.15 line."""
    import plotly.graph_objects as go

    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
    fig = go.Figure()
    for i, strategy in enumerate(values.columns):
        series = values[strategy].dropna()
        color = palette[i % len(palette)]
        fig.add_trace(
            go.Scatter(
                x=series.index,
                y=series.values,
                mode="markers",
                name=f"{strategy}",
                marker=dict(color=color, size=8, opacity=0.6),
                legendgroup=strategy,
            )
        )
        rolling = series.rolling(window, min_periods=1).mean()
        fig.add_trace(
            go.Scatter(
                x=rolling.index,
                y=rolling.values,
                mode="lines",
                name=f"{strategy}, rolling mean ({window})",
                line=dict(color=color, width=3, dash="dash" if _is_baseline(strategy) else "solid"),
                legendgroup=strategy,
            )
        )
    fig.add_hline(
        y=line, line_dash="dash", line_color=FAIL_COLOR, annotation_text=f"old alert line {line:g}"
    )
    fig.update_yaxes(title="cosine similarity", range=[0, 1.05])
    fig.update_xaxes(title=x_title, dtick=1)
    return layout(fig, "Cosine similarity trend (the old system's signal) with its rolling mean")
