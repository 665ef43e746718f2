"""Instance storage of feature_drift per hourly partition in a multi-hour (backfill) run.

Materializes ``--hours`` hours of feature_drift in one run (the stand-in feed and classifier of
``playlist_assets_tests/defs/test_monitoring.py``) into a fresh SQLite instance, once with the
asset of commit f1401b6 (loaded from git) and the stock partition writer its IO manager used,
and once with today's asset and ``WarehouseIOManager``, and prints the serialized size
of each hour's materialization event and the instance folder's growth per hour.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/bench_drift_events.py [--hours 24]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from old_build import BEFORE_COMMIT, module_at  # noqa: E402


def _asset_before():
    return module_at(
        BEFORE_COMMIT, "playlist_assets/defs/monitoring.py", "monitoring_before"
    ).feature_drift


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(asset, hours: int, io_manager_class) -> tuple[float, float]:
    import dagster as dg
    from dagster._serdes import serialize_value
    from test_monitoring import genre_classifier, hour_key, new_tracks

    work = Path(tempfile.mkdtemp(prefix="bench_drift_events_"))
    resources = {
        "io_manager": io_manager_class(database=str(work / "warehouse.duckdb"), schema="main"),
        "model_io_manager": dg.FilesystemIOManager(base_dir=str(work / "models")),
    }
    (work / "dh").mkdir()
    with dg.instance_for_test(temp_dir=str(work / "dh")) as instance:
        assert dg.materialize([genre_classifier], instance=instance, resources=resources).success
        before = _folder_bytes(work / "dh")
        result = dg.materialize(
            [new_tracks, genre_classifier, asset],
            selection=[new_tracks, asset],
            tags={
                "dagster/asset_partition_range_start": hour_key(0),
                "dagster/asset_partition_range_end": hour_key(hours - 1),
            },
            instance=instance,
            resources=resources,
        )
        assert result.success
        events = result.asset_materializations_for_node("feature_drift")
        sizes = [len(serialize_value(e)) for e in events]
        grown = _folder_bytes(work / "dh") - before
    return sum(sizes) / len(sizes), grown / hours


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "playlist_assets_tests"))
    sys.path.insert(0, str(ROOT / "playlist_assets_tests" / "defs"))
    from dagster_duckdb_pandas import DuckDBPandasIOManager

    from playlist_assets.defs.monitoring import feature_drift
    from playlist_assets.defs.resources import WarehouseIOManager

    print(f"feature_drift, {args.hours} hours in one run")
    print("| build | materialization event, bytes per hour | instance folder growth per hour |")
    print("| --- | ---: | ---: |")
    # Before, the project's IO manager wrote partitions with the stock pandas handler.
    builds = (
        (f"before ({BEFORE_COMMIT})", _asset_before(), DuckDBPandasIOManager),
        ("after", feature_drift, WarehouseIOManager),
    )
    for name, asset, io_manager_class in builds:
        event, folder = measure(asset, args.hours, io_manager_class)
        print(f"| {name} | {event:,.0f} | {folder / 1024:,.1f} KB |")


if __name__ == "__main__":
    main()
