"""The dashboard's listeners section: online metrics per version over time, feedback volume,
distinct listeners, the A/B readout, beside the latest offline evaluation."""

from __future__ import annotations

from typing import Any

import pandas as pd

from playlist_assets.dashboard import data
from playlist_assets.dashboard.figures import layout
from playlist_assets.lib.feedback.metrics import ADDITIVE_COLUMNS, GROUP, arm_difference, rates
from playlist_assets.lib.feedback.store import METRICS_TABLE


def online_metrics() -> pd.DataFrame:
    """Every stored hour of ``online_metrics``, oldest first."""
    name = METRICS_TABLE.split(".")[-1]
    return data.query(f"SELECT * FROM {name} ORDER BY partition_hour", name)


def acceptance_over_time(metrics: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for (version, arm), rows in metrics.groupby(["model_version", "arm"]):
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(rows["partition_hour"]),
                y=rows["acceptance_rate"],
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=rows["acceptance_rate_high"] - rows["acceptance_rate"],
                    arrayminus=rows["acceptance_rate"] - rows["acceptance_rate_low"],
                ),
                mode="lines+markers",
                name=f"{version} ({arm})",
            )
        )
    fig.update_yaxes(title="acceptance rate (95 % Wilson)", tickformat=".0%")
    return layout(fig, "Online acceptance per model version and arm, by hour")


def volume_over_time(metrics: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    hourly = metrics.groupby("partition_hour")[["events", "impressions", "users"]].sum()
    fig = go.Figure()
    fig.add_bar(x=hourly.index, y=hourly["events"], name="feedback events")
    fig.add_bar(x=hourly.index, y=hourly["impressions"], name="impressions")
    fig.add_scatter(x=hourly.index, y=hourly["users"], name="distinct listeners", yaxis="y2")
    fig.update_layout(yaxis2=dict(overlaying="y", side="right", title="listeners"))
    return layout(fig, "Feedback volume and distinct listeners per hour")


def section() -> list[Any]:
    from playlist_assets.dashboard.view import Note, empty_state

    metrics = online_metrics()
    if metrics.empty:
        return [
            empty_state(
                "online metrics",
                ["recommendation_impressions", "recommendation_feedback", "online_metrics"],
                partitioned=True,
            ),
            Note(
                "Listeners' feedback arrives through the API, or try `playlist-assets "
                "simulate-listeners --offline`."
            ),
        ]
    counts = [c for c in metrics.columns if c in ADDITIVE_COLUMNS]
    per_version = rates(
        metrics.groupby(GROUP)[counts].sum().reset_index().assign(users=0, feedback_users=0)
    )
    shown = [
        "model_version",
        "strategy",
        "arm",
        "impressions",
        "acceptance_rate",
        "acceptance_rate_low",
        "acceptance_rate_high",
        "add_rate_at_10",
        "skip_rate",
        "fresh_share",
    ]
    out: list[Any] = [
        acceptance_over_time(metrics),
        volume_over_time(metrics),
        Note("All hours together, per version (online):"),
        per_version[shown].round(4),
    ]
    users = data.query("SELECT * FROM online_user_counts", "online_user_counts")
    ab = arm_difference(metrics, users=users if len(users) else None)
    if len(ab):
        out += [
            Note("Challenger minus champion acceptance (95 % interval, listeners as units):"),
            ab.round(4),
        ]
    offline = data.recommendation_eval()
    if len(offline):
        out += [
            Note(
                f"Offline, the latest evaluation (serving: "
                f"{data.serving_recommender().get('champion version', 'candidate')}):"
            ),
            offline.round(4),
        ]
    return out
