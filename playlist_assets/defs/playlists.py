"""``playlists``: the Spotify Million Playlist Dataset playlists the recommender learns from.

MPD-format JSON (a slice or a folder of slices, gz allowed), read as one long table.
"""

import dagster as dg
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.inputs import resolve_input

GROUP = "recommendation"
OWNERS = ["team:ml-engineering"]


class PlaylistsConfig(dg.Config):
    path: str | None = Field(
        default=None,
        description=(
            "MPD slice (.json or .json.gz) or a folder of slices. Empty: $PLAYLIST_MPD_PATH, "
            "else the generated sample under the data folder."
        ),
    )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "pandas"},
    owners=OWNERS,
    pool="duckdb",
    tags={"layer": "raw"},
)
def playlists(context: dg.AssetExecutionContext, config: PlaylistsConfig) -> dg.Output:
    """Spotify Million Playlist Dataset playlists, one row per playlist entry
    (pid, name, pos, track_uri, track_id, artist_name, track_name)."""
    from playlist_assets.lib.recommend.playlists_io import PlaylistFileError, read_playlists

    path = resolve_input(config.path, settings.MPD_PATH_ENV, "playlists_json")
    try:
        frame = read_playlists(path)
    except PlaylistFileError as exc:
        raise dg.Failure(description=str(exc), metadata={"source_path": str(path)}) from exc
    if frame.empty:
        raise dg.Failure(description=f"{path}: holds no playlist entries")
    offsets = frame.attrs.get("pid_offsets", {})
    for name, offset in offsets.items():
        context.log.warning(f"{name}: pids collide with an earlier slice; shifted by {offset}")
    lengths = frame.groupby("pid", sort=False).size()
    metadata = {
        "source_path": dg.MetadataValue.path(str(path)),
        "files": len(frame.attrs.get("files", [])),
        "dagster/row_count": len(frame),
        "playlists": int(frame["pid"].nunique()),
        "distinct_tracks": int(frame["track_id"].nunique()),
        "median_playlist_length": float(lengths.median()),
        "pid_offsets": dg.MetadataValue.json(offsets),
        "preview": dg.MetadataValue.md(frame.head(10).to_markdown(index=False)),
    }
    # Arrow-backed strings: a fraction of the memory of Python strings, VARCHAR in DuckDB.
    for column in frame.columns[frame.dtypes == "category"]:
        frame[column] = frame[column].astype("string[pyarrow]")
    return dg.Output(frame, metadata=metadata)


defs = dg.Definitions(assets=[playlists])
