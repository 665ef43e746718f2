"""Instance storage for the embedded default: every Dagster event stored once, in one file.

Dagster's default SQLite event log writes each event twice (an index database plus one database
file per run); over a year of hourly runs that is gigabytes and thousands of files. The
consolidated storage keeps one database. This subclass only supplies its folder from
``$DAGSTER_HOME`` so ``dagster.yaml`` needs no absolute path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._serdes import ConfigurableClassData

from playlist_assets.settings import DAGSTER_HOME_ENV

EVENTS_SUBDIR = Path("history") / "events"


class HomeEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """``ConsolidatedSqliteEventLogStorage`` in ``$DAGSTER_HOME/history/events`` by default."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> HomeEventLogStorage:
        home = os.environ.get(DAGSTER_HOME_ENV)
        # Without DAGSTER_HOME the instance is a throw-away one: keep its events out of the cwd.
        base_dir = config_value.get("base_dir") or str(
            Path(home).expanduser().resolve() / EVENTS_SUBDIR
            if home
            else tempfile.mkdtemp(prefix="dagster_events_")
        )
        Path(base_dir).mkdir(parents=True, exist_ok=True)
        return cls(base_dir=base_dir, inst_data=inst_data)
