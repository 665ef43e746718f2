"""Data folders for serving benchmarks: the sample as Dagster materializes it, and a year.

``build_sample``: the unpartitioned graph on the embedded defaults (what ``scripts/run.sh``
leaves). ``build_year``: that folder plus 8,760 hours of the fresh replay (~350,000 songs, what
a year of ``PLAYLIST_REPLAY_MODE=fresh`` brings), each hour typed as ``fresh_songs`` types it,
scored with the folder's champion and cluster models, and stored in ``main.fresh_songs`` —
the songs a recommender loads after a year, without 8,760 Dagster runs (``bench_year.py`` runs
those). Both are kept in their folder and reused when already built.

    .venv/bin/python benchmarks/year_base.py WORK_DIR   # builds WORK_DIR/sample and WORK_DIR/year
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
YEAR_HOURS = 8760
TRACKS_PER_HOUR = 40


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYLIST_", "SPOTIPY_"))}
    env.update(
        PLAYLIST_ASSETS_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster_home"),
        GX_ANALYTICS_ENABLED="false",
        OMP_WAIT_POLICY="passive",
        PYTHONUNBUFFERED="1",
    )
    return env


# -- data folders --------------------------------------------------------------------------------


def build_sample(home: Path) -> None:
    """The unpartitioned graph on the embedded defaults, as scripts/run.sh materializes it."""
    if (home / "models" / "track_cooccurrence").exists():
        return
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    print(f"materializing the sample graph into {home} ...", flush=True)
    subprocess.run(
        [
            str(VENV_BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "playlist_assets.definitions",
            "--select",
            "not tag:cadence=hourly and not key:dashboard",
        ],
        env=env_for(home),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def build_year(sample: Path, home: Path) -> None:
    """The sample plus a year of fresh-replay hours in ``fresh_songs`` (what a year of
    ``PLAYLIST_REPLAY_MODE=fresh`` hours gives serving), the last hour ending now."""
    if (home / "year.done").exists():
        return
    import duckdb
    import pandas as pd

    from playlist_assets.defs.fresh import hour_tracks
    from playlist_assets.lib.classifier.artifacts import load_classifier, load_cluster_models
    from playlist_assets.lib.feeds.fresh import fresh_hour
    from playlist_assets.lib.recommend.index import score_fresh_tracks
    from playlist_assets.settings import DEFAULT_GENRES

    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(sample, home)
    print(f"adding {YEAR_HOURS} fresh hours into {home} ...", flush=True)
    bundle = load_classifier(home / "models")
    clusters = load_cluster_models(home / "models")
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    start = end - timedelta(hours=YEAR_HOURS)
    days = []
    for day in range(0, YEAR_HOURS, 24):
        frames = []
        for h in range(day, min(day + 24, YEAR_HOURS)):
            hour = start + timedelta(hours=h)
            batch = fresh_hour(
                DEFAULT_GENRES, hour.strftime("%Y-%m-%d-%H:%M"), hour, TRACKS_PER_HOUR
            )
            tracks = hour_tracks(batch.tracks)
            tracks["_hour"] = hour
            frames.append(tracks)
        rows = pd.concat(frames, ignore_index=True)
        scored = score_fresh_tracks(rows, bundle, clusters, start, DEFAULT_GENRES)
        landed = rows.drop_duplicates("track_id").set_index("track_id")["_hour"]
        scored["landed_at"] = scored["track_id"].map(landed).astype("datetime64[us]")
        days.append(scored)
    fresh = pd.concat(days, ignore_index=True)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create or replace table main.fresh_songs as select * from fresh")
    (home / "year.done").write_text(f"{len(fresh)} fresh songs\n")


def land_next_hour(home: Path) -> str:
    """The hour after the newest one of ``home``'s ``fresh_songs``, as ``build_year`` makes an
    hour, inserted into the table, and its materialization recorded in the folder's Dagster
    instance (what a ``fresh_songs`` run leaves; a service watches those events): its key."""
    import dagster as dg
    import duckdb
    import pandas as pd

    from playlist_assets.defs.fresh import hour_tracks
    from playlist_assets.lib.classifier.artifacts import load_classifier, load_cluster_models
    from playlist_assets.lib.feeds.fresh import fresh_hour
    from playlist_assets.lib.recommend.index import score_fresh_tracks
    from playlist_assets.settings import DEFAULT_GENRES

    warehouse = str(home / "warehouse.duckdb")
    with duckdb.connect(warehouse, read_only=True) as con:
        newest = con.execute("select max(landed_at) from main.fresh_songs").fetchall()[0][0]
    hour = pd.Timestamp(newest).to_pydatetime() + timedelta(hours=1)
    key = hour.strftime("%Y-%m-%d-%H:%M")
    tracks = hour_tracks(fresh_hour(DEFAULT_GENRES, key, hour, TRACKS_PER_HOUR).tracks)
    bundle, clusters = load_classifier(home / "models"), load_cluster_models(home / "models")
    scored = score_fresh_tracks(tracks, bundle, clusters, hour, DEFAULT_GENRES)
    scored["landed_at"] = scored["landed_at"].astype("datetime64[us]")
    with duckdb.connect(warehouse) as con:
        con.execute("insert into main.fresh_songs by name select * from scored")
    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("fresh_songs", partition=key))
    return key


def drop_hours_after(home: Path, newest: datetime) -> None:
    """Remove the hours ``land_next_hour`` added after ``newest`` (the folder as it was)."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("delete from main.fresh_songs where landed_at > ?", [newest])


def newest_hour(home: Path) -> datetime | None:
    """The newest landing in ``home``'s ``fresh_songs`` (None: no such table, the sample)."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        try:
            return con.execute("select max(landed_at) from main.fresh_songs").fetchall()[0][0]
        except duckdb.CatalogException:
            return None


if __name__ == "__main__":
    work = Path(sys.argv[1])
    build_sample(work / "sample")
    build_year(work / "sample", work / "year")
