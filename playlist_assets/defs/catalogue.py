"""The catalogue snapshot: ``raw_spotify_tracks``, kept exactly as it came.

This table is the staged file, not what downstream reads: the blocking check judges it and
promotes it (its typed rows and quarantine) only when it passes, so a rejected file stays
visible here with its check result while retrains keep reading the last accepted catalogue.
"""

import dagster as dg
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.inputs import resolve_input
from playlist_assets.lib.constants import DATA_ENGINEERING_OWNERS, DUCKDB_POOL, SOURCE_PATH_KEY
from playlist_assets.lib.schema import KAGGLE_COLUMNS
from playlist_assets.lib.tracks_io import TracksFileError, read_tracks_csv


class CatalogueConfig(dg.Config):
    path: str | None = Field(
        default=None,
        description=(
            "Kaggle 'Spotify Tracks' CSV (plain or .gz). Empty: $PLAYLIST_TRACKS_CSV, "
            "else the generated sample under the data folder."
        ),
    )


@dg.asset(
    group_name="ingestion",
    kinds={"duckdb", "pandas"},
    owners=list(DATA_ENGINEERING_OWNERS),
    pool=DUCKDB_POOL,
    tags={"layer": "raw"},
)
def raw_spotify_tracks(context: dg.AssetExecutionContext, config: CatalogueConfig) -> dg.Output:
    """The catalogue snapshot in Kaggle "Spotify Tracks" format, stored as it came.

    Nothing is fixed here: the blocking Great Expectations check on this asset decides whether
    it replaces the catalogue downstream reads, and quarantines its bad rows.
    """
    path = resolve_input(config.path, settings.TRACKS_CSV_ENV, "tracks_csv")
    try:
        frame = read_tracks_csv(path)
    except TracksFileError as exc:
        raise dg.Failure(description=str(exc), metadata={SOURCE_PATH_KEY: str(path)}) from exc
    # Mixed-type text columns become nullable strings so DuckDB can store them verbatim.
    for column in frame.select_dtypes(include="object").columns:
        frame[column] = frame[column].astype("string")
    missing = [c for c in KAGGLE_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in KAGGLE_COLUMNS]
    if missing:
        context.log.warning(
            f"{path} lacks required columns {missing}; the quality check will block"
        )
    metadata: dict[str, object] = {
        SOURCE_PATH_KEY: dg.MetadataValue.path(str(path)),
        "dagster/row_count": len(frame),
        "columns": len(frame.columns),
        "missing_columns": ", ".join(missing) or "none",
        "extra_columns": ", ".join(extra) or "none",
        "preview": dg.MetadataValue.md(frame.head(10).to_markdown(index=False)),
    }
    if "track_genre" in frame.columns:
        metadata["genres"] = int(frame["track_genre"].nunique())
    return dg.Output(frame, metadata=metadata)


defs = dg.Definitions(assets=[raw_spotify_tracks])
