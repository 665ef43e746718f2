"""The drift section's charts: materialized hours side by side, each coloured by the verdict the
drift sensor read for it, retraining runs at the hour they answered, and the episodes table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from playlist_assets.dashboard.data import HOURLY_FORMAT
from playlist_assets.dashboard.figures import ACCENT, FAIL_COLOR, PASS_COLOR, layout


def hour_label(when: Any) -> str:
    """An hourly partition as an axis category: materialized hours sit side by side, so a
    missing hour neither stretches a cell nor leaves a gap, and the axis ends at the last one."""
    return f"{pd.Timestamp(when):%Y-%m-%d %H:00}"


def drift_heatmap(
    drift: pd.DataFrame, threshold: float, verdicts: pd.DataFrame | None = None
) -> Any:
    """PSI per feature and materialized hour; cells above the threshold turn red, drifted cells
    are dotted. With ``verdicts`` (``partition_hour, drifted`` and optionally ``drift_score,
    reason``: the verdict the drift sensor read for each hour), a strip above colours each hour
    by it."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    psi = drift.pivot_table(index="feature", columns="partition_hour", values="psi", aggfunc="last")
    psi = psi.reindex(sorted(psi.columns), axis=1)
    hours = [hour_label(h) for h in psi.columns]
    zmax = max(2 * threshold, float(psi.max().max()) if psi.size else threshold)
    mid = threshold / zmax
    text = None
    if "drifted" in drift.columns:
        flags = drift.pivot_table(
            index="feature", columns="partition_hour", values="drifted", aggfunc="last"
        )
        text = flags.reindex_like(psi).map(lambda v: "●" if v is True or v == 1 else "").to_numpy()
    heat = go.Heatmap(
        z=psi.to_numpy(),
        x=hours,
        y=list(psi.index),
        zmin=0,
        zmax=zmax,
        colorscale=[[0, "#f7fbff"], [mid * 0.999, "#c6dbef"], [mid, "#fdae61"], [1, "#b2182b"]],
        colorbar=dict(
            title="PSI",
            tickvals=[0, threshold, zmax],
            ticktext=["0", f"threshold {threshold:g}", f"{zmax:.2g}"],
        ),
        text=text,
        texttemplate="%{text}" if text is not None else None,
        hovertemplate="%{y} @ %{x}<br>PSI %{z:.3f}<extra></extra>",
        xgap=1,
    )
    title = f"Feature drift (PSI) per hourly partition — threshold {threshold:g}, ● = drifted"
    if verdicts is None or verdicts.empty:
        fig = go.Figure(heat)
        fig.update_xaxes(title="hourly partition (materialized hours only)", type="category")
        return layout(fig, title, 420)
    strip = _verdict_strip(verdicts, list(psi.columns))
    rows = len(psi.index)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[1, max(rows, 1)], vertical_spacing=0.03
    )
    fig.add_trace(heat, row=2, col=1)
    fig.add_trace(strip, row=1, col=1)
    fig.update_xaxes(type="category")
    fig.update_xaxes(title="hourly partition (materialized hours only)", row=2, col=1)
    drifted = sum(1 for v in strip.z[0] if v == 1)
    return layout(fig, f"{title}; top row: the sensor's verdict ({drifted} drifted)", 460)


def _verdict_strip(verdicts: pd.DataFrame, hours: list[Any]) -> Any:
    """One cell per hour: red when the hour's verdict was drifted, green when not, grey unknown."""
    import numpy as np
    import plotly.graph_objects as go

    by_hour = verdicts.assign(partition_hour=pd.to_datetime(verdicts["partition_hour"]))
    by_hour = by_hour.drop_duplicates("partition_hour", keep="last").set_index("partition_hour")
    by_hour = by_hour.reindex(pd.to_datetime(hours))
    drifted = by_hour["drifted"]
    z = np.where(drifted.isna(), 0.5, drifted.fillna(False).astype(float))
    words = np.where(drifted.isna(), "no verdict", np.where(z == 1, "drifted", "ok"))
    scores = by_hour.get("drift_score", pd.Series(np.nan, index=by_hour.index))
    reasons = by_hour.get("reason", pd.Series("", index=by_hour.index)).fillna("")
    return go.Heatmap(
        z=[z],
        x=[hour_label(h) for h in hours],
        y=["verdict"],
        zmin=0,
        zmax=1,
        colorscale=[
            [0, PASS_COLOR],
            [0.49, PASS_COLOR],
            [0.5, "#c7c7c7"],
            [0.51, FAIL_COLOR],
            [1, FAIL_COLOR],
        ],
        showscale=False,
        customdata=np.stack([words, scores.astype(float).round(3).astype(str), reasons], axis=-1)[
            None, :, :
        ],
        hovertemplate="%{x}: %{customdata[0]}<br>drift score %{customdata[1]}"
        "<br>%{customdata[2]}<extra>sensor verdict</extra>",
        xgap=1,
    )


def drift_timeline(
    scores: pd.DataFrame, retrains: pd.DataFrame, threshold: float, y_title: str
) -> Any:
    """A drift score per materialized hour against its threshold; retraining runs as vertical
    lines at the hour they answered (their latest drifted partition, else the last hour before
    they started), so the axis never runs past the last hour.

    ``scores``: ``partition_hour, score`` and optionally ``drifted`` (drifted hours in red).
    """
    import plotly.graph_objects as go

    scores = scores.sort_values("partition_hour")
    hours = [hour_label(h) for h in scores["partition_hour"]]
    drifted = (
        scores["drifted"].astype(bool)
        if "drifted" in scores.columns
        else scores["score"] >= threshold
    )
    fig = go.Figure(
        go.Scatter(
            x=hours,
            y=scores["score"],
            mode="lines+markers",
            name=y_title,
            line=dict(color="#7f7f7f"),
            marker=dict(size=9, color=[FAIL_COLOR if d else PASS_COLOR for d in drifted]),
        )
    )
    fig.add_hline(
        y=threshold,
        line_dash="dash",
        line_color=FAIL_COLOR,
        annotation_text=f"threshold {threshold:g}",
    )
    top = max(float(scores["score"].max()) if len(scores) else 0.0, threshold) * 1.15
    placed = _retrain_hours(retrains, pd.to_datetime(scores["partition_hour"]))
    for hour in dict.fromkeys(placed["hour"]):
        fig.add_vline(x=hour, line_color=ACCENT, line_width=2)
    if len(placed):
        fig.add_trace(
            go.Scatter(
                x=placed["hour"],
                y=[top] * len(placed),
                mode="markers",
                marker=dict(symbol="triangle-down", size=13, color=ACCENT),
                name=f"retraining run ({len(placed)})",
                customdata=placed[["run_id", "status", "started"]].to_numpy(),
                hovertemplate="retraining run %{customdata[0]}<br>%{customdata[1]}, started "
                "%{customdata[2]}<extra></extra>",
            )
        )
    fig.update_yaxes(title=y_title, range=[0, top * 1.05])
    fig.update_xaxes(
        title="hourly partition (materialized hours only; retraining runs at the hour they "
        "answered)",
        type="category",
        categoryorder="array",
        categoryarray=hours,
    )
    n, k = len(retrains), int(drifted.sum())
    return layout(fig, f"Drift over time: {k} drifted partition(s), {n} retraining run(s)")


def _retrain_hours(retrains: pd.DataFrame, hours: pd.Series) -> pd.DataFrame:
    """``run_id, status, started, hour``: each retraining run at the materialized hour it
    answered; runs that started before every shown hour are left out."""
    rows = []
    for run in retrains.to_dict("records"):
        tagged = pd.to_datetime(
            str(run.get("drifted_partitions") or "").replace(" ", ",").split(","),
            format=HOURLY_FORMAT,
            errors="coerce",
        )
        known = [h for h in tagged if not pd.isna(h) and h in set(hours)]
        started = pd.Timestamp(run["start_time"])
        before = hours[hours <= started]
        hour = max(known) if known else (before.max() if len(before) else None)
        if hour is not None:
            rows.append(
                {
                    "run_id": run.get("run_id", ""),
                    "status": run.get("status", ""),
                    "started": f"{started:%Y-%m-%d %H:%M}",
                    "hour": hour_label(hour),
                }
            )
    return pd.DataFrame(rows, columns=["run_id", "status", "started", "hour"])


EPISODE_COLUMNS = ("started_hour", "retrain_run_id", "outcome", "detail")


def drift_episodes_table(episodes: pd.DataFrame) -> pd.DataFrame:
    """Drift episodes, newest first, as the table under the drift charts.

    ``episodes``: one row per episode with ``started_hour`` (its first drifted hour),
    ``retrain_run_id`` (the retraining run requested for it, empty if none yet), ``outcome``
    (e.g. promoted / champion kept / running) and ``detail``.
    """
    missing = [c for c in EPISODE_COLUMNS if c not in episodes.columns]
    if missing:
        raise ValueError(f"drift episodes lack column(s) {', '.join(missing)}")
    table = episodes[list(EPISODE_COLUMNS)].copy()
    started = pd.to_datetime(table["started_hour"], errors="coerce")
    table["started_hour"] = [hour_label(h) if not pd.isna(h) else "" for h in started]
    table = table.assign(_order=started).sort_values("_order", ascending=False)
    return (
        table.drop(columns="_order")
        .fillna("")
        .reset_index(drop=True)
        .rename(
            columns={
                "started_hour": "episode started (hour)",
                "retrain_run_id": "retraining run",
                "outcome": "outcome",
                "detail": "detail",
            }
        )
    )
