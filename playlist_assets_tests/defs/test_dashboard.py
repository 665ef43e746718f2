"""The ``dashboard`` asset: executes the notebook, keeps .ipynb + HTML, links both."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import nbformat
import pytest

from playlist_assets.defs import dashboard as dashboard_defs


def test_dashboard_runs_after_what_it_reports_on() -> None:
    spec = next(iter(dashboard_defs.dashboard.specs))
    deps = {dep.asset_key for dep in spec.deps}
    assert {
        dg.AssetKey("song_index"),
        dg.AssetKey("recommendation_eval"),
        dg.AssetKey("genre_classifier"),
        dg.AssetKey("feature_drift"),
    } <= deps
    assert spec.group_name == "monitoring"
    assert dashboard_defs.dashboard.op.pool == "duckdb"


def test_dashboard_refreshes_once_after_a_dependency_updates() -> None:
    @dg.asset(name="song_index")
    def song_index_standin() -> None:
        return None

    @dg.asset(
        name="feature_drift", partitions_def=dg.HourlyPartitionsDefinition("2026-11-01-00:00")
    )
    def feature_drift_standin() -> None:
        return None

    assets = [song_index_standin, feature_drift_standin, dashboard_defs.dashboard]
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=assets, instance=instance)
        assert first.total_requested == 0  # nothing changed yet
        dg.materialize([song_index_standin], instance=instance)
        second = dg.evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=first.cursor
        )
        assert second.get_num_requested(dg.AssetKey("dashboard")) == 1
        third = dg.evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=second.cursor
        )
        assert third.total_requested == 0  # one refresh per update, not one per tick
        # A new hourly drift measurement refreshes it too.
        dg.materialize([feature_drift_standin], instance=instance, partition_key="2026-11-01-05:00")
        fourth = dg.evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=third.cursor
        )
        assert fourth.get_num_requested(dg.AssetKey("dashboard")) == 1
    sensor = dashboard_defs.dashboard_refresh_sensor
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_a_partition_built_after_the_dashboard_within_one_tick_is_not_skipped() -> None:
    """scripts/materialize_all.sh in a running `dagster dev`: the graph (dashboard included),
    then an hourly partition, both finished before the sensor's next tick."""

    @dg.asset(name="song_index")
    def song_index_standin() -> None:
        return None

    @dg.asset(
        name="feature_drift", partitions_def=dg.HourlyPartitionsDefinition("2026-11-01-00:00")
    )
    def feature_drift_standin() -> None:
        return None

    assets = [song_index_standin, feature_drift_standin, dashboard_defs.dashboard]
    dashboard_key = dg.AssetKey("dashboard")
    with dg.instance_for_test() as instance:
        tick = dg.evaluate_automation_conditions(defs=assets, instance=instance)
        # Inputs, then the dashboard built after them (one run): it is current, no refresh.
        dg.materialize([song_index_standin], instance=instance)
        instance.report_runless_asset_event(dg.AssetMaterialization(dashboard_key))
        tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=tick.cursor)
        assert tick.get_num_requested(dashboard_key) == 0
        # The dashboard, then a partition, seen on the same tick: the partition is newer.
        dg.materialize([song_index_standin], instance=instance)
        instance.report_runless_asset_event(dg.AssetMaterialization(dashboard_key))
        dg.materialize([feature_drift_standin], instance=instance, partition_key="2026-11-01-00:00")
        tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=tick.cursor)
        assert tick.get_num_requested(dashboard_key) == 1
        # Requested once; a refresh that fails (no new materialization) is not retried each tick.
        tick = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=tick.cursor)
        assert tick.total_requested == 0


def test_dashboard_materializes_on_a_fresh_install(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    result = dg.materialize([dashboard_defs.dashboard])
    assert result.success
    metadata = result.asset_materializations_for_node("dashboard")[0].metadata

    html = Path(metadata["html_path"].value)
    notebook = Path(metadata["notebook"].value)
    assert html == data_home / "reports" / "dashboard" / "dashboard.html"
    assert metadata["html"].value == html.as_uri()
    assert notebook.parent == html.parent and notebook.suffix == ".ipynb"
    assert html.stat().st_size > 0

    # Nothing is materialized: the page explains what to do instead of raising.
    page = html.read_text()
    assert "Fresh install" in page and "dagster asset materialize" in page
    executed = nbformat.read(notebook, as_version=4)
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert metadata["figures"].value == 0
    assert "validated songs" in metadata["empty_sections"].value
    # Only the report was written into the data folder (the empty MLflow store was there).
    assert sorted(p.name for p in data_home.iterdir()) == ["mlflow", "reports"]


def test_a_failing_notebook_fails_the_asset_with_the_cell(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "report = False\ndata_home = ''\nexample_playlist = ''",
                metadata={"tags": ["parameters"]},
            ),
            nbformat.v4.new_code_cell("raise ValueError('no such table: song_index')"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, broken)
    monkeypatch.setattr("playlist_assets.dashboard.report.NOTEBOOK_PATH", broken)
    result = dg.materialize([dashboard_defs.dashboard], raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("dashboard")
    assert "ValueError: no such table: song_index" in failure.error.message
    assert (data_home / "reports" / "dashboard" / "dashboard.failed.ipynb").exists()
