"""The Dagster instance of the embedded default: every event stored once, in one file.

Dagster's default SQLite event log writes each event twice (an index database plus one database
file per run); over a year of hourly runs that is gigabytes and thousands of files. This instance
class (``instance_class`` in ``dagster.yaml``) changes only the default event log storage to
Dagster's consolidated SQLite storage in ``<instance folder>/history/events``; runs, schedules
and everything set explicitly in ``dagster.yaml`` stay as Dagster makes them. Being a default, it
follows whichever folder the instance is opened from (``$DAGSTER_HOME`` or
``DagsterInstance.from_config(dir)``).

The storage keeps one engine per process instead of building one per statement, and commits
with ``synchronous=NORMAL`` (safe in WAL mode: a power cut may lose the last events, never the
file). A year's backfill stores ~50,000 events; at ~17 ms each (a new engine, a full sync and a
WAL checkpoint on every close) that alone was a quarter of an hour.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import sqlalchemy as db
import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData

EVENTS_SUBDIR = os.path.join("history", "events")


class ProjectEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """Consolidated SQLite event log with one pooled engine per process (see the module)."""

    @cached_property
    def _engine(self) -> db.Engine:
        engine = db.create_engine(
            self._conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )

        @db.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        # A forked child must not share the parent's open connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        return engine

    @contextmanager
    def _connect(self) -> Iterator[db.Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn


class ProjectInstance(DagsterInstance):
    """A ``DagsterInstance`` whose default event log is consolidated SQLite."""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, Any]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        events = ConfigurableClassData(
            __name__,
            ProjectEventLogStorage.__name__,
            yaml.dump({"base_dir": os.path.join(base_dir, EVENTS_SUBDIR)}),
        )
        parts = {
            "run_storage": defaults["run_storage"],
            "event_log_storage": events,
            "schedule_storage": defaults["schedule_storage"],
        }
        defaults["event_log_storage"] = events
        # What Dagster builds when dagster.yaml names each storage: one composite of the three.
        defaults["storage"] = ConfigurableClassData(
            "dagster._core.storage.legacy_storage",
            "CompositeStorage",
            yaml.dump(
                {
                    key: {
                        "module_name": data.module_name,
                        "class_name": data.class_name,
                        "config_yaml": data.config_yaml,
                    }
                    for key, data in parts.items()
                }
            ),
        )
        return defaults
