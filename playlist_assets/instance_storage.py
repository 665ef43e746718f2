"""The Dagster instance of the embedded default: every event stored once, in one file.

Dagster's default SQLite event log writes each event twice (an index database plus one database
file per run); over a year of hourly runs that is gigabytes and thousands of files. This instance
class (``instance_class`` in ``dagster.yaml``) changes only the default event log storage to
Dagster's consolidated SQLite storage in ``<instance folder>/history/events``; runs, schedules
and everything set explicitly in ``dagster.yaml`` stay as Dagster makes them. Being a default, it
follows whichever folder the instance is opened from (``$DAGSTER_HOME`` or
``DagsterInstance.from_config(dir)``).
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClassData

EVENTS_SUBDIR = os.path.join("history", "events")


class ProjectInstance(DagsterInstance):
    """A ``DagsterInstance`` whose default event log is consolidated SQLite."""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, Any]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        events = ConfigurableClassData(
            "dagster._core.storage.event_log",
            "ConsolidatedSqliteEventLogStorage",
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
