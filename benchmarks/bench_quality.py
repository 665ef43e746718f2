"""Quality gate benchmark: what the blocking check costs a run, and batches of a million rows.

Every measurement runs in a fresh Python process (so Great Expectations' import is paid where a
real step pays it) and reports wall time, CPU time (user + system: less sensitive to other work
on a shared machine) and peak resident memory.

1. The check in a run: ``dagster.materialize`` of the real ``raw_spotify_tracks`` asset on the
   114,000-row Kaggle file, without and with the blocking check; the difference is what the
   check adds to the run (Great Expectations import, validation, Data Docs page).
2. Inside the check: import, validation, Data Docs, ours against a straightforward GX 1.x
   check (plain import, default SUMMARY result format, full Data Docs rebuild).
3. Judging once: the whole judgment (Great Expectations with unexpected row positions, the
   quarantine split, typed rows) against a plain BASIC validation of the same file.
4. A batch of >= 1,000,000 rows (the real file tiled, fresh track ids): judged, stored and
   combined into a songs base, and the Great Expectations suite on it, with peak memory.
5. ``validated_songs`` over 24 and over 8,760 stored hours of 40 real tracks (the retrain's
   first step after a day and after a year); the goal: a year within 1.5x of a day.
6. Instance storage (and files) one scheduled hour of ``new_tracks`` + its check adds.

    .venv/bin/python benchmarks/bench_quality.py [--tracks PATH] [--big-rows 1000000]
        [--skip-big] [--skip-songs]
    .venv/bin/python benchmarks/bench_quality.py --child songs-year   # one measurement, JSON
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TRACKS = ROOT.parent / "shared" / "data" / "spotify_tracks" / "dataset.csv.gz"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0 = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = _cpu() - self.cpu0


# ------------------------------------------------------------------------------------------
# Child measurements (each in its own process).


def child_run(tracks: str, with_check: bool) -> dict:
    """materialize(raw_spotify_tracks [+ check]) on the real file; wall/CPU of the run."""
    os.environ["PLAYLIST_ASSETS_HOME"] = tempfile.mkdtemp(prefix="bench_quality_")
    import dagster as dg

    from playlist_assets.defs.catalogue import raw_spotify_tracks
    from playlist_assets.defs.checks import raw_spotify_tracks_great_expectations
    from playlist_assets.defs.resources import build_resources

    assets = [raw_spotify_tracks]
    if with_check:
        assets.append(raw_spotify_tracks_great_expectations)
    instance = dg.DagsterInstance.ephemeral()
    with Clock() as clock:
        result = dg.materialize(
            assets,
            instance=instance,
            resources=build_resources(),
            run_config={"ops": {"raw_spotify_tracks": {"config": {"path": tracks}}}},
            raise_on_error=False,
        )
    steps = {
        s.step_key: round((s.end_time or 0) - (s.start_time or 0), 3)
        for s in instance.get_run_step_stats(result.run_id)
    }
    checks = [(e.passed, e.description) for e in result.get_asset_check_evaluations()]
    return {
        "wall": clock.wall,
        "cpu": clock.cpu,
        "peak_mib": _peak_mib(),
        "checks": checks,
        "steps": steps,
        "success": result.success,
    }


def child_breakdown(tracks: str, naive: bool) -> dict:
    """Import, validation and Data Docs, ours or the straightforward way."""
    import pandas as pd

    from playlist_assets.lib.tracks_io import read_tracks_csv

    frame = read_tracks_csv(tracks)
    out: dict = {"rows": len(frame)}
    docs = Path(tempfile.mkdtemp(prefix="bench_quality_docs_"))
    with Clock() as imp:
        if naive:
            os.environ["GX_ANALYTICS_ENABLED"] = "false"
            import great_expectations  # noqa: F401
        else:
            from playlist_assets.lib.quality.gx_suite import import_gx

            import_gx()
    out["import"] = (imp.wall, imp.cpu)
    from playlist_assets.lib.quality import CATALOGUE_SUITE, run_suite

    with Clock() as validate:
        outcome = run_suite(frame, CATALOGUE_SUITE, result_format="SUMMARY" if naive else "BASIC")
    out["validate"] = (validate.wall, validate.cpu)
    with Clock() as with_docs:
        if naive:
            _naive_docs(frame, docs)
        else:
            run_suite(frame, CATALOGUE_SUITE, data_docs_dir=docs)
    out["validate+docs"] = (with_docs.wall, with_docs.cpu)
    out["docs"] = (with_docs.wall - validate.wall, with_docs.cpu - validate.cpu)
    out["success"] = outcome.success
    out["expectations"] = len(outcome.expectations)
    out["peak_mib"] = _peak_mib()
    del pd
    return out


def child_hour(tracks: str) -> dict:
    """One hourly partition (40 tracks, the replay feed's default): import + suite + docs."""
    from playlist_assets.lib.tracks_io import read_tracks_csv

    frame = read_tracks_csv(tracks).sample(40, random_state=0).reset_index(drop=True)
    docs = Path(tempfile.mkdtemp(prefix="bench_quality_docs_"))
    with Clock() as imp:
        from playlist_assets.lib.quality.gx_suite import import_gx

        import_gx()
    from playlist_assets.lib.quality import NEW_TRACKS_SUITE, run_suite

    with Clock() as first:
        outcome = run_suite(frame, NEW_TRACKS_SUITE, data_docs_dir=docs)
    with Clock() as second:
        run_suite(frame, NEW_TRACKS_SUITE, data_docs_dir=docs)
    return {
        "import": (imp.wall, imp.cpu),
        "first": (first.wall, first.cpu),
        "second": (second.wall, second.cpu),
        "success": outcome.success,
    }


def _naive_docs(frame, docs: Path) -> None:
    """The straightforward check: a context with a docs site, SUMMARY results, full rebuild."""
    import great_expectations as gx

    from playlist_assets.lib.quality import CATALOGUE_SUITE, build_suite

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        "bench",
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("bench")
    batch = source.add_dataframe_asset("tracks").add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(build_suite(CATALOGUE_SUITE))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="bench", data=batch, suite=suite)
    )
    definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    context.build_data_docs()


def child_quarantine(tracks: str, how: str) -> dict:
    """The whole judgment (GX with row positions, split, typing) or a plain BASIC validation."""
    from playlist_assets.lib.quality import CATALOGUE_SUITE, judge, run_suite, whole_frame
    from playlist_assets.lib.quality.gx_suite import import_gx
    from playlist_assets.lib.tracks_io import read_tracks_csv

    frame = read_tracks_csv(tracks)
    import_gx()
    if how == "basic":
        with Clock() as clock:
            run_suite(frame, CATALOGUE_SUITE)
        rejects = None
    else:
        with Clock() as clock:
            judgment = judge(frame, CATALOGUE_SUITE, whole_frame(frame, "catalogue", tracks))
        rejects = len(judgment.rejects)
        assert rejects > 0
    return {"wall": clock.wall, "cpu": clock.cpu, "peak_mib": _peak_mib(), "rejects": rejects}


def _big_frame(tracks: str, rows: int):
    import numpy as np
    import pandas as pd

    from playlist_assets.lib.tracks_io import read_tracks_csv

    real = read_tracks_csv(tracks)
    copies = -(-rows // len(real))
    frame = pd.concat([real] * copies, ignore_index=True).iloc[:rows]
    alphabet = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    rng = np.random.default_rng(0)
    ids = alphabet[rng.integers(0, 62, size=(rows, 22))].view("<U22").ravel()
    frame["track_id"] = ids
    return frame


def child_big(tracks: str, rows: int, how: str) -> dict:
    """A >= 1M-row batch: the songs base (pandas) or the GX suite; peak memory."""
    frame = _big_frame(tracks, rows)
    frame_mib = frame.memory_usage(deep=True).sum() / 2**20
    before = _rss_mib()
    if how == "judge":
        import duckdb
        import pandas as pd

        from playlist_assets.lib.quality import CATALOGUE_SUITE, judge, store, whole_frame
        from playlist_assets.lib.quality.gx_suite import import_gx
        from playlist_assets.settings import DEFAULT_GENRES

        import_gx()
        before = _rss_mib()
        conn = duckdb.connect()
        with Clock() as clock:
            judgment = judge(frame, CATALOGUE_SUITE, whole_frame(frame, "catalogue", "big"))
            store.store_catalogue(conn, judgment, "big", pd.Timestamp.now())
            base = store.combine(conn, list(DEFAULT_GENRES))
        detail = {
            "validated": base.validated_rows,
            "quarantined": base.quarantined_rows,
            "out_of_scope": base.out_of_scope_rows,
            "adds_up": base.counts_add_up(),
        }
    else:
        from playlist_assets.lib.quality import CATALOGUE_SUITE, run_suite
        from playlist_assets.lib.quality.gx_suite import import_gx

        import_gx()
        before = _rss_mib()
        with Clock() as clock:
            outcome = run_suite(frame, CATALOGUE_SUITE)
        detail = {"success": outcome.success}
    return {
        "rows": len(frame),
        "wall": clock.wall,
        "cpu": clock.cpu,
        "frame_mib": frame_mib,
        "rss_before_mib": before,
        "peak_mib": _peak_mib(),
        **detail,
    }


def _hours_frame(tracks: str, hours: int, per_hour: int = 40):
    """``hours`` replay-like hours of ``per_hour`` real tracks each, as ``main.new_tracks`` holds them."""
    import numpy as np
    import pandas as pd

    from playlist_assets.lib.feeds.normalize import FEED_DTYPES
    from playlist_assets.lib.tracks_io import read_tracks_csv

    real = read_tracks_csv(tracks).drop_duplicates("track_id").reset_index(drop=True)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(real), size=hours * per_hour)
    frame = real.iloc[picks].reset_index(drop=True)
    frame["source"] = "replay"
    frame = frame.astype({c: d for c, d in FEED_DTYPES.items() if c in frame.columns})
    start = pd.Timestamp("2025-11-01 00:00")
    frame["partition_hour"] = (
        start + pd.to_timedelta(np.repeat(np.arange(hours), per_hour), "h")
    ).astype("datetime64[us]")
    return real, frame


def child_songs_hours(tracks: str, hours: int) -> dict:
    """validated_songs + quarantined_tracks (the retrain's first step) over ``hours`` stored hours.

    The catalogue and the hours are in the warehouse as the feed leaves them; a first
    materialization does whatever one-time work the code does on unjudged data, the second one
    (timed) is what every later retrain pays.
    """
    home = Path(tempfile.mkdtemp(prefix="bench_quality_songs_"))
    os.environ["PLAYLIST_ASSETS_HOME"] = str(home)
    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource
    from dagster_duckdb_pandas import DuckDBPandasIOManager

    from playlist_assets.defs.checks import raw_spotify_tracks_great_expectations
    from playlist_assets.defs.songs import songs_base

    real, frame = _hours_frame(tracks, hours)
    database = str(home / "warehouse.duckdb")
    resources = {
        "io_manager": DuckDBPandasIOManager(database=database, schema="main"),
        "warehouse": DuckDBResource(database=database),
    }

    @dg.asset(name="raw_spotify_tracks")
    def catalogue():
        for column in real.select_dtypes(include="object").columns:
            real[column] = real[column].astype("string")
        return dg.Output(real, metadata={"source_path": dg.MetadataValue.path(tracks)})

    instance = dg.DagsterInstance.ephemeral()
    dg.materialize(
        [catalogue, raw_spotify_tracks_great_expectations], resources=resources, instance=instance
    )
    with duckdb.connect(database) as conn:
        conn.register("hours", frame)
        conn.execute("create table main.new_tracks as select * from hours")
    with Clock() as first:
        dg.materialize(
            [catalogue, songs_base],
            resources=resources,
            instance=instance,
            selection=["validated_songs", "quarantined_tracks"],
        )
    with Clock() as second:
        result = dg.materialize(
            [catalogue, songs_base],
            resources=resources,
            instance=instance,
            selection=["validated_songs", "quarantined_tracks"],
        )
    steps = {
        s.step_key: round((s.end_time or 0) - (s.start_time or 0), 3)
        for s in instance.get_run_step_stats(result.run_id)
    }
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    songs = meta["validated_songs"]
    return {
        "hours": hours,
        "rows": len(frame),
        "first_wall": first.wall,
        "wall": second.wall,
        "cpu": second.cpu,
        "step": steps.get("songs_base"),
        "validated": songs["validated_rows"].value,
        "peak_mib": _peak_mib(),
    }


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def child_hour_storage(tracks: str, hours: int = 4) -> dict:
    """Instance storage added by one scheduled hour of new_tracks + its check (SQLite instance).

    One run per hour as the schedule launches them; the first hour (schema creation) is not
    counted. Reports the serialized size of the hour's events (what an event log stores once)
    and, for context, how much the default SQLite instance folder grew.
    """
    home = Path(tempfile.mkdtemp(prefix="bench_quality_storage_"))
    os.environ["PLAYLIST_ASSETS_HOME"] = str(home / "data")
    import dagster as dg
    from dagster_shared.serdes import serialize_value

    from playlist_assets.definitions import defs
    from playlist_assets.defs.checks import new_tracks_great_expectations
    from playlist_assets.defs.feed import new_tracks

    del tracks  # the replay feed's default pool is what an hour of the product brings
    (home / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(home / "dagster"))
    keys = [f"2026-11-02-{h:02d}:00" for h in range(hours)]
    sizes, events, metadata = [], [], []
    for key in keys:
        result = dg.materialize(
            [new_tracks, new_tracks_great_expectations],
            partition_key=key,
            instance=instance,
            resources=dict(defs.resources or {}),
            raise_on_error=False,
        )
        assert result.success, key
        sizes.append(_dir_bytes(home / "dagster"))
        records = instance.all_logs(result.run_id)
        events.append(sum(len(serialize_value(r)) for r in records))
        metadata.append(
            sum(
                len(serialize_value(r))
                for r in records
                if r.dagster_event
                and r.dagster_event.event_type_value
                in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION")
            )
        )
    files = sum(1 for f in (home / "dagster").rglob("*") if f.is_file())
    return {
        "hours": hours - 1,
        "dir_bytes_per_hour": (sizes[-1] - sizes[0]) / (hours - 1),
        "event_bytes_per_hour": sum(events[1:]) / (hours - 1),
        "metadata_event_bytes_per_hour": sum(metadata[1:]) / (hours - 1),
        "files": files,
    }


CHILDREN = {
    "run": lambda a: child_run(a.tracks, with_check=False),
    "run+check": lambda a: child_run(a.tracks, with_check=True),
    "breakdown": lambda a: child_breakdown(a.tracks, naive=False),
    "breakdown-naive": lambda a: child_breakdown(a.tracks, naive=True),
    "hour": lambda a: child_hour(a.tracks),
    "quarantine-judge": lambda a: child_quarantine(a.tracks, "judge"),
    "quarantine-basic": lambda a: child_quarantine(a.tracks, "basic"),
    "big-judge": lambda a: child_big(a.tracks, a.big_rows, "judge"),
    "big-gx": lambda a: child_big(a.tracks, a.big_rows, "gx"),
    "songs-day": lambda a: child_songs_hours(a.tracks, 24),
    "songs-year": lambda a: child_songs_hours(a.tracks, 8760),
    "hour-storage": lambda a: child_hour_storage(a.tracks),
}


def spawn(name: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", name, "--tracks", args.tracks]
    command += ["--big-rows", str(args.big_rows)]
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(label: str, wall: float, cpu: float, peak: float | None = None, note: str = "") -> str:
    peak_text = "" if peak is None else f"{peak:,.0f}"
    return f"| {label} | {wall:.2f} | {cpu:.2f} | {peak_text} | {note} |"


def _songs_section(args: argparse.Namespace) -> None:
    """validated_songs after a day and after a year of stored hours."""
    day = spawn("songs-day", args)
    year = spawn("songs-year", args)
    print("\n## 5. validated_songs over stored hours (real catalogue + 40 real tracks an hour)\n")
    print("| history | hours' rows | step s | wall s | CPU s | peak MiB | first run wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in (("a day (24 h)", day), ("a year (8,760 h)", year)):
        print(
            f"| {label} | {r['rows']:,} | {r['step']:.2f} | {r['wall']:.2f} | {r['cpu']:.2f} "
            f"| {r['peak_mib']:,.0f} | {r['first_wall']:.2f} |"
        )
    print(f"\nyear / day (CPU): {year['cpu'] / day['cpu']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", default=str(DEFAULT_TRACKS))
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-songs", action="store_true", help="skip a year of stored hours")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args), default=str))
        return
    if not Path(args.tracks).is_file():
        sys.exit(f"tracks file {args.tracks} not found: pass --tracks PATH")

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at start\n")

    run = spawn("run", args)
    checked = spawn("run+check", args)
    print("## 1. The blocking check in a run (real file, 114,000 rows)\n")
    print("| run | wall s | CPU s | peak MiB | note |\n| --- | --- | --- | --- | --- |")
    print(_row("raw_spotify_tracks", run["wall"], run["cpu"], run["peak_mib"]))
    print(
        _row(
            "raw_spotify_tracks + check",
            checked["wall"],
            checked["cpu"],
            checked["peak_mib"],
            f"check passed: {checked['checks'][0][0]}",
        )
    )
    print(_row("**check adds**", checked["wall"] - run["wall"], checked["cpu"] - run["cpu"]))
    step = checked["steps"].get("raw_spotify_tracks_great_expectations")
    print(f"\ncheck step duration inside the run: {step:.2f} s wall" if step else "")

    ours = spawn("breakdown", args)
    naive = spawn("breakdown-naive", args)
    print("\n## 2. Inside the check: ours vs a straightforward GX 1.x check\n")
    print(
        "| part | ours wall s | ours CPU s | straightforward wall s | straightforward CPU s | ratio (wall) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for part in ("import", "validate", "docs", "validate+docs"):
        (ow, oc), (nw, nc) = ours[part], naive[part]
        print(f"| {part} | {ow:.2f} | {oc:.2f} | {nw:.2f} | {nc:.2f} | {nw / ow:.1f}x |")
    total_o = ours["import"][0] + ours["validate+docs"][0]
    total_n = naive["import"][0] + naive["validate+docs"][0]
    print(
        f"| **total** | {total_o:.2f} | {ours['import'][1] + ours['validate+docs'][1]:.2f} "
        f"| {total_n:.2f} | {naive['import'][1] + naive['validate+docs'][1]:.2f} "
        f"| {total_n / total_o:.1f}x |"
    )
    print(f"\n{ours['expectations']} expectations; suite passed: {ours['success']}.")

    hour = spawn("hour", args)
    print("\n## 2b. The check on one hourly partition (40 tracks)\n")
    print("| part | wall s | CPU s |\n| --- | --- | --- |")
    for label, key in (
        ("import", "import"),
        ("suite + Data Docs (first in process)", "first"),
        ("suite + Data Docs (again)", "second"),
    ):
        print(f"| {label} | {hour[key][0]:.2f} | {hour[key][1]:.2f} |")

    qb = spawn("quarantine-basic", args)
    qj = spawn("quarantine-judge", args)
    print("\n## 3. Judging once: quarantine rows from GX's row positions (114,000 rows)\n")
    print("| way | wall s | CPU s | peak MiB | note |\n| --- | --- | --- | --- | --- |")
    print(_row("GX validation only (BASIC)", qb["wall"], qb["cpu"], qb["peak_mib"]))
    print(
        _row(
            "judge: GX with row positions + split + typed rows",
            qj["wall"],
            qj["cpu"],
            qj["peak_mib"],
            f"{qj['rejects']} rows quarantined; {qj['cpu'] / qb['cpu']:.1f}x the CPU",
        )
    )

    if not args.skip_big:
        bp = spawn("big-judge", args)
        bg = spawn("big-gx", args)
        print(f"\n## 4. A batch of {bp['rows']:,} rows\n")
        print("| step | wall s | CPU s | peak MiB | frame MiB | RSS before MiB | note |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(
            f"| judge + store + combine (GX rows, type, SQL dedupe) | {bp['wall']:.2f} | {bp['cpu']:.2f} "
            f"| {bp['peak_mib']:,.0f} | {bp['frame_mib']:,.0f} | {bp['rss_before_mib']:,.0f} "
            f"| validated {bp['validated']:,}, quarantined {bp['quarantined']:,}, "
            f"out of scope {bp['out_of_scope']:,}, adds up: {bp['adds_up']} |"
        )
        print(
            f"| GX suite (BASIC) | {bg['wall']:.2f} | {bg['cpu']:.2f} | {bg['peak_mib']:,.0f} "
            f"| {bg['frame_mib']:,.0f} | {bg['rss_before_mib']:,.0f} | success: {bg['success']} |"
        )
    if not args.skip_songs:
        _songs_section(args)

    hour = spawn("hour-storage", args)
    print("\n## 6. Instance storage of one hourly partition (new_tracks + its check)\n")
    print(
        f"mean over {hour['hours']} hours: the hour's events serialized "
        f"{hour['event_bytes_per_hour']:,.0f} bytes, of which the materialization and check "
        f"events {hour['metadata_event_bytes_per_hour']:,.0f}; the instance folder grew "
        f"{hour['dir_bytes_per_hour']:,.0f} bytes an hour ({hour['files']} files: per-run "
        "event databases and compute logs of the default SQLite instance)"
    )
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
