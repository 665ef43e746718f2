"""Names that several parts of the project must agree on, each written once.

The code location, the dashboard, the feeds, the loader and the CLI read these: a check name, a
run tag or a file name spelled twice would let them drift apart silently. Light on purpose (no
numpy, pandas or Dagster), so the CLI and the dashboard import it for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The WARN check on genre_classifier: did a retrain requested by drift settle it?
RETRAIN_CHECK_NAME = "retrain_settles_drift"
# The blocking Great Expectations check on raw_spotify_tracks and on each new_tracks hour.
QUALITY_CHECK_NAME = "great_expectations"

# Owners of the ingestion and quality assets.
DATA_ENGINEERING_OWNERS: tuple[str, ...] = ("team:data-engineering",)
# Metadata key: the file an asset read (the catalogue's check and validated_songs name it).
SOURCE_PATH_KEY = "source_path"

# The job drift requests, the sensor that requests it, and the pool every DuckDB writer shares
# (dagster.yaml limits it to one slot).
RETRAINING_JOB = "retraining_job"
DRIFT_SENSOR = "drift_retraining_sensor"
DUCKDB_POOL = "duckdb"

# Run tags the project writes (MLflow gets them with '/' turned into '.').
TAG_PREFIX = "playlist_assets"
PURPOSE_TAG = f"{TAG_PREFIX}/purpose"
TRIGGER_TAG = f"{TAG_PREFIX}/trigger"
REASON_TAG = f"{TAG_PREFIX}/reason"
DRIFTED_PARTITIONS_TAG = f"{TAG_PREFIX}/drifted_partitions"
DRIFTED_COUNT_TAG = f"{TAG_PREFIX}/drifted_count"
DRIFT_EVENT_IDS_TAG = f"{TAG_PREFIX}/drift_event_ids"
MAX_DRIFT_SCORE_TAG = f"{TAG_PREFIX}/max_drift_score"
# The partition key of a drift episode's first drifted hour ...
EPISODE_SINCE_TAG = f"{TAG_PREFIX}/episode_since"
# ... and the first hour of the shift a retrain acknowledges.
ACKNOWLEDGE_SINCE_TAG = f"{TAG_PREFIX}/acknowledge_since"
# The host a run's process runs on (run recovery judges only its own host's runs).
HOST_TAG = f"{TAG_PREFIX}/host"

# Hourly partition keys, e.g. 2026-11-25-13:00 (Dagster's own default for hourly partitions).
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"

# A Spotify track id: 22 base-62 characters (the part of a URL or URI after track/, track:).
TRACK_ID_CHARS = r"[0-9A-Za-z]{22}"
TRACK_ID_PATTERN = rf"^{TRACK_ID_CHARS}$"

# The data folder's layout: file and folder names below it.
WAREHOUSE_FILE = "warehouse.duckdb"
MODELS_DIR = "models"
MLFLOW_DIR = "mlflow"
MLFLOW_DB_FILE = "mlflow.db"
MLFLOW_ARTIFACTS_DIR = "artifacts"
DAGSTER_HOME_DIR = "dagster_home"
SAMPLE_DIR = "sample"
REPORTS_DIR = "reports"
DATA_DOCS_DIR = "data_docs"
LANDING_DIR = "landing"
JUPYTER_DIR = "jupyter"


@dataclass(frozen=True)
class DataFolder:
    """Where each thing the project keeps lives below one data folder (``root``)."""

    root: Path
    warehouse: Path
    models: Path
    mlflow: Path
    mlflow_db: Path
    mlflow_artifacts: Path
    dagster_home: Path  # unless $DAGSTER_HOME says otherwise
    sample: Path
    reports: Path
    data_docs: Path  # the Great Expectations Data Docs site, one for every suite and batch
    landing: Path
    jupyter: Path

    @classmethod
    def at(cls, root: Path) -> DataFolder:
        mlflow, reports = root / MLFLOW_DIR, root / REPORTS_DIR
        return cls(
            root=root,
            warehouse=root / WAREHOUSE_FILE,
            models=root / MODELS_DIR,
            mlflow=mlflow,
            mlflow_db=mlflow / MLFLOW_DB_FILE,
            mlflow_artifacts=mlflow / MLFLOW_ARTIFACTS_DIR,
            dagster_home=root / DAGSTER_HOME_DIR,
            sample=root / SAMPLE_DIR,
            reports=reports,
            data_docs=reports / DATA_DOCS_DIR,
            landing=root / LANDING_DIR,
            jupyter=root / JUPYTER_DIR,
        )

    def written(self) -> tuple[Path, ...]:
        """What runs write to, beside the folder itself (checked before a run starts)."""
        return (self.warehouse, self.models, self.mlflow, self.mlflow_db)
