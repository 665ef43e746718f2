"""``dashboard``: the monitoring notebook executed after the models update, kept as .ipynb and HTML."""

import dagster as dg
from pydantic import Field

from playlist_assets import settings

# Runs after everything it reports on. Keys, not asset objects: the dashboard needs no inputs
# (the notebook reads the warehouse and MLflow itself), and a family that is not deployed
# simply shows as an empty section.
DASHBOARD_DEPS: list[dg.AssetKey] = [
    dg.AssetKey("quarantined_tracks"),
    dg.AssetKey("genre_classifier"),
    dg.AssetKey("song_index"),
    dg.AssetKey("recommendation_eval"),
    dg.AssetKey("feature_drift"),
]


# Refresh the report whenever something it shows has changed (a retrain, a new hourly drift
# measurement), once the run that changed it has finished. "Changed" is judged by time: an input
# updated after the dashboard's own latest materialization, even when both are first seen on the
# same tick (a run that built the dashboard, then an hourly partition, within one sensor
# interval: `since_last_handled` counts the dashboard's update as handling both). One request
# per input update, so a failed refresh is not retried every tick.
# (`any_deps_match(newly_updated())`, not `any_deps_updated()`: its and/or drop the update times
# that `since` compares.)
INPUT_UPDATED = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated())
STALE = INPUT_UPDATED.since(dg.AutomationCondition.newly_updated())
REFRESH_AFTER_UPDATES = (
    (INPUT_UPDATED & STALE).since(dg.AutomationCondition.newly_requested())
    & STALE
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("refresh after its inputs update")


class DashboardConfig(dg.Config):
    example_playlist: str = Field(
        default="",
        description="Playlist reference the report recommends for (a Spotify URL, mpd:<pid> or "
        "track ids); empty: a playlist from the playlists table.",
    )
    timeout_seconds: int = Field(default=600, description="Longest a single notebook cell may run.")


@dg.asset(
    group_name="monitoring",
    deps=DASHBOARD_DEPS,
    kinds={"jupyter", "plotly"},
    owners=["team:ml-engineering"],
    # The notebook reads the DuckDB file: wait for writers instead of meeting their lock.
    pool="duckdb",
    automation_condition=REFRESH_AFTER_UPDATES,
)
def dashboard(context: dg.AssetExecutionContext, config: DashboardConfig) -> dg.MaterializeResult:
    """The dashboard notebook, executed headlessly on the current warehouse, MLflow and instance.

    Songs base, data-quality checks, drift and retraining, models, recommendation quality and an
    example recommendation. Open the HTML from this asset's metadata; `playlist-assets dashboard`
    serves the same notebook live, with a working "try it" form.
    """
    from playlist_assets.dashboard.report import FAILED_NAME, DashboardFailed, render

    out_dir = settings.reports_dir() / "dashboard"
    try:
        report = render(
            out_dir,
            data_home=settings.data_home(),
            parameters={"example_playlist": config.example_playlist},
            timeout_seconds=config.timeout_seconds,
        )
    except DashboardFailed as exc:
        raise dg.Failure(
            description=str(exc),
            metadata={"failed_notebook": dg.MetadataValue.notebook(str(out_dir / FAILED_NAME))},
        ) from exc
    context.log.info(
        f"dashboard: {report.figures} figures in {report.execute_seconds:.1f} s -> {report.html}"
    )
    return dg.MaterializeResult(
        metadata={
            "html": dg.MetadataValue.url(report.html.as_uri()),
            "html_path": dg.MetadataValue.path(str(report.html)),
            "notebook": dg.MetadataValue.notebook(str(report.notebook)),
            "notebook_url": dg.MetadataValue.url(report.notebook.as_uri()),
            "figures": dg.MetadataValue.int(report.figures),
            "empty_sections": dg.MetadataValue.text(", ".join(report.empty_sections) or "none"),
            "execute_seconds": dg.MetadataValue.float(report.execute_seconds),
            "render_seconds": dg.MetadataValue.float(report.render_seconds),
            "live": dg.MetadataValue.md(
                "Serve it live with `playlist-assets dashboard` (http://127.0.0.1:8866)."
            ),
        }
    )


dashboard_refresh_sensor = dg.AutomationConditionSensorDefinition(
    "dashboard_refresh_sensor",
    target=dg.AssetSelection.assets(dashboard),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Re-executes the dashboard notebook after a retrain or a new drift measurement.",
)

defs = dg.Definitions(assets=[dashboard], sensors=[dashboard_refresh_sensor])
