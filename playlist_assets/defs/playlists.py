"""``playlists``: the Spotify Million Playlist Dataset playlists the recommender learns from.

MPD-format JSON (a slice or a folder of slices, gz allowed). Each slice file is converted alone
into a Parquet file under the data folder (``playlist_slices/``; reused while the file is
unchanged), then ``playlists`` combines them into interned warehouse tables and hands
downstream a ``PlaylistStore`` (``lib/recommend/playlist_load.py``, ``playlist_store.py``). A bad
slice is quarantined with one line naming file and playlist; the others load.

The per-slice step also runs on its own, one run per slice (``mpd_slices_job``, partitioned by
slice file): the run launcher spreads those runs, the pool ``mpd_slices`` bounds how many convert
at once, and none of them opens the DuckDB file, so only ``playlists`` (pool ``duckdb``) writes it.
"""

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.inputs import resolve_input
from playlist_assets.lib.constants import DUCKDB_POOL
from playlist_assets.lib.recommend.mpd_files import PlaylistFileError, mpd_files, slice_key

GROUP = "recommendation"
OWNERS = ["team:ml-engineering"]
SLICES_POOL = "mpd_slices"
# Where the per-slice Parquet files go: a folder every run worker sees (a shared volume when the
# slice runs are spread over machines); default <data folder>/playlist_slices.
SLICES_DIR_ENV = "PLAYLIST_SLICES_DIR"
SAMPLE_SLICE = "mpd.slice.sample"


def slices_dir() -> Path:
    from playlist_assets.lib.recommend.playlist_load import SLICES_DIR

    raw = os.environ.get(SLICES_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else settings.data_home() / SLICES_DIR


class PlaylistsConfig(dg.Config):
    path: str | None = Field(
        default=None,
        description=(
            "MPD slice (.json or .json.gz) or a folder of slices. Empty: $PLAYLIST_MPD_PATH, "
            "else the generated sample under the data folder."
        ),
    )
    workers: int = Field(
        default=2,
        ge=1,
        description="Processes converting the slices not yet converted (one slice each at a time).",
    )
    memory_limit: str = Field(
        default="4GB", description="DuckDB's memory while combining (it spills to disk beyond)."
    )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    pool=DUCKDB_POOL,
    tags={"layer": "raw"},
    io_manager_key="model_io_manager",  # the handle (a few bytes); the rows are in the warehouse
)
def playlists(
    context: dg.AssetExecutionContext, config: PlaylistsConfig, warehouse: DuckDBResource
) -> dg.Output:
    """Spotify Million Playlist Dataset playlists in the warehouse: tables playlist_info,
    playlist_tracks (ids interned), playlist_entries, the long view ``playlists`` (pid, name,
    pos, track_uri, track_id, artist_name, track_name) and ``playlist_slices`` (each slice loaded
    or quarantined). Downstream steps get a PlaylistStore and read what they need."""
    from playlist_assets.lib.recommend.playlist_load import (
        combine_slices,
        convert_slices,
        prune_slices,
    )
    from playlist_assets.lib.recommend.playlist_store import PlaylistStore

    path = resolve_input(config.path, settings.MPD_PATH_ENV, "playlists_json")
    try:
        files = mpd_files(path)
    except PlaylistFileError as exc:
        raise dg.Failure(description=str(exc), metadata={"source_path": str(path)}) from exc
    results = convert_slices(files, slices_dir(), workers=config.workers)
    bad = [r.error for r in results if not r.ok]
    for line in bad:
        context.log.warning(f"slice quarantined: {line}")
    if not any(r.ok and r.entries for r in results):
        raise dg.Failure(description="\n".join(bad) or f"{path}: holds no playlist entries")
    with warehouse.get_connection() as con:
        counts = combine_slices(con, results, memory_limit=config.memory_limit)
    prune_slices(slices_dir(), {r.key for r in results if r.ok})
    for name, offset in counts["pid_offsets"].items():
        context.log.warning(f"{name}: pids collide with an earlier slice; shifted by {offset}")
    store = PlaylistStore(Path(warehouse.database).resolve())
    return dg.Output(store, metadata=_metadata(path, results, counts, store))


def _metadata(path: Path, results: list, counts: dict, store) -> dict:
    quarantined = [r for r in results if not r.ok]
    return {
        "source_path": dg.MetadataValue.path(str(path)),
        "files": len(results),
        "slices_converted": sum(1 for r in results if r.ok and not r.reused),
        "slices_reused": sum(1 for r in results if r.reused),
        "slices_quarantined": len(quarantined),
        "quarantine": dg.MetadataValue.md(
            "\n".join(f"- {r.error}" for r in quarantined[:20]) or "none"
        ),
        "dagster/row_count": counts["entries"],
        "playlists": counts["playlists"],
        "distinct_tracks": counts["distinct_tracks"],
        "median_playlist_length": counts["median_playlist_length"],
        "pid_offsets": dg.MetadataValue.json(counts["pid_offsets"]),
        "preview": dg.MetadataValue.md(
            store.frame(store.playlist_ids()[:1]).head(10).to_markdown(index=False)
        ),
    }


def _slice_keys() -> list[str]:
    """One partition per slice file of $PLAYLIST_MPD_PATH, read when the code location loads
    (reload it after adding slices); the sample's one slice without it."""
    configured = os.environ.get(settings.MPD_PATH_ENV, "").strip()
    if not configured:
        return [SAMPLE_SLICE]
    try:
        return list(dict.fromkeys(slice_key(f) for f in mpd_files(configured))) or [SAMPLE_SLICE]
    except PlaylistFileError:
        return [SAMPLE_SLICE]


@dg.op(pool=SLICES_POOL, tags={"kind": "parquet"}, out=dg.Out(dg.Nothing))
def convert_mpd_slice(context: dg.OpExecutionContext) -> dg.Output:
    """Parse one slice file into its Parquet file (nothing when it is current). Never opens the
    warehouse: ``playlists`` combines the slices, reusing what these runs wrote."""
    from playlist_assets.lib.recommend.playlist_load import convert_slice

    path = resolve_input(None, settings.MPD_PATH_ENV, "playlists_json")
    wanted = context.partition_key
    source = next((f for f in mpd_files(path) if slice_key(f) == wanted), None)
    if source is None:
        raise dg.Failure(description=f"{path}: no slice file named {wanted}(.json|.json.gz)")
    result = convert_slice(source, slices_dir())
    if not result.ok:
        raise dg.Failure(description=str(result.error))
    return dg.Output(  # nothing for an IO manager: the Parquet file is the result
        None,
        metadata={
            "source": dg.MetadataValue.path(str(source)),
            "parquet": dg.MetadataValue.path(str(result.parquet)),
            "playlists": result.playlists,
            "entries": result.entries,
            "reused": result.reused,
        },
    )


def slices_job(keys: list[str]) -> dg.JobDefinition:
    """The per-slice job over these slice names (one partition, one run each)."""

    @dg.job(
        name="mpd_slices_job",
        partitions_def=dg.StaticPartitionsDefinition(keys),
        description="Convert one MPD slice file to Parquet per run (then materialize playlists, "
        "which combines them): spread over run workers, at most the pool mpd_slices' limit "
        "at once.",
    )
    def mpd_slices_job() -> None:
        convert_mpd_slice()

    return mpd_slices_job


mpd_slices_job = slices_job(_slice_keys())

defs = dg.Definitions(assets=[playlists], jobs=[mpd_slices_job])
