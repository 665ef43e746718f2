"""Runs whose process died: detect them, mark them failed, free their pool slots, end their MLflow runs.

A run killed mid-step (kill -9, out of memory, a reboot) never reports its end: it stays STARTED
in the instance and keeps the only slot of the ``duckdb`` pool, so every later run waits on it
forever. Dagster's run monitoring cannot see this for the default run launcher (it has no
worker health check) nor for ``dagster asset materialize`` (no daemon at all), so the project
checks for itself, from three places that all call :func:`recover_orphaned_runs`:

- the code location's executor, before each run executes (CLI, ``dg launch``, ``dagster dev``);
- ``orphaned_runs_sensor`` in ``dagster dev`` (every 60 s, also when no run starts);
- ``playlist-assets doctor`` by hand.

A run is orphaned when it is STARTED (or CANCELING) and none of the processes it recorded
(the in-process executor logs its pid) is alive as the same process: a pid reused by a later
process does not count (its start time is after the run's). Runs recorded on another host, or
with no process recorded, are never judged. This module is instance maintenance shared by the code location and the CLI,
which is why it sits beside ``settings.py`` rather than in ``defs/`` or ``lib/``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playlist_assets.lib.constants import HOST_TAG

if TYPE_CHECKING:
    from dagster import DagsterInstance

# A process created this long after its run's start is another process that got the same pid.
_START_SLACK_S = 2.0


@dataclass(frozen=True)
class OrphanedRun:
    run_id: str
    job_name: str
    pids: tuple[int, ...]


@dataclass
class RecoveryReport:
    """What one recovery pass found and did."""

    orphaned: list[OrphanedRun] = field(default_factory=list)
    freed_runs: list[str] = field(default_factory=list)  # runs whose pool slots were freed
    mlflow_runs: list[tuple[str, str]] = field(default_factory=list)  # (mlflow run, dagster run)
    mlflow_error: str | None = None

    @property
    def did_something(self) -> bool:
        return bool(self.orphaned or self.freed_runs or self.mlflow_runs)

    def lines(self) -> list[str]:
        out = [
            f"run {r.run_id} ({r.job_name}): process {_pids(r.pids)} is gone; marked failed"
            for r in self.orphaned
        ]
        out += [f"run {run_id}: freed its pool slots" for run_id in self.freed_runs]
        out += [
            f"MLflow run {mlflow_run} (of dagster run {dagster_run}): ended as KILLED"
            for mlflow_run, dagster_run in self.mlflow_runs
        ]
        if self.mlflow_error:
            out.append(f"MLflow runs not checked: {self.mlflow_error}")
        return out


def _pids(pids: tuple[int, ...]) -> str:
    return ", ".join(str(p) for p in pids) if pids else "(none recorded)"


def this_host() -> str:
    return socket.gethostname()


def run_pids(instance: DagsterInstance, run_id: str) -> tuple[int, ...]:
    """Pids a run's run-level engine events recorded (run worker, in-process executor)."""
    import dagster as dg

    pids = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        data = getattr(event, "event_specific_data", None) if event else None
        metadata = getattr(data, "metadata", None) or {}
        value = metadata.get("pid")
        text = getattr(value, "value", value)
        if event is not None and event.step_key is None and text is not None:
            try:
                pids.append(int(str(text)))
            except ValueError:
                continue
    return tuple(dict.fromkeys(pids))


def process_alive(pid: int, not_after: float) -> bool:
    """Whether ``pid`` runs a process created no later than ``not_after`` (epoch seconds)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return process.create_time() <= not_after + _START_SLACK_S
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        return False


def find_orphaned_runs(instance: DagsterInstance, exclude: Iterable[str] = ()) -> list[OrphanedRun]:
    """STARTED/CANCELING runs of this host whose every recorded process is gone."""
    import dagster as dg

    skip = set(exclude)
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING])
    )
    orphaned = []
    for record in records:
        run = record.dagster_run
        if run.run_id in skip or run.tags.get(HOST_TAG, this_host()) != this_host():
            continue
        pids = run_pids(instance, run.run_id)
        if not pids:
            continue  # no process recorded (yet, or another executor): never judged
        started = record.start_time or record.create_timestamp.timestamp()
        if not any(process_alive(pid, started) for pid in pids):
            orphaned.append(OrphanedRun(run.run_id, run.job_name, pids))
    return orphaned


def _slot_holders(instance: DagsterInstance) -> set[str]:
    """Runs that hold or wait for a slot of any pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    holders: set[str] = set()
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        holders |= {slot.run_id for slot in info.claimed_slots}
        holders |= {step.run_id for step in info.pending_steps}
    return holders


def recover_orphaned_runs(
    instance: DagsterInstance,
    *,
    mlflow_uri: str | None = None,
    exclude: Iterable[str] = (),
    dry_run: bool = False,
) -> RecoveryReport:
    """Mark orphaned runs failed, free slots held by finished runs, end their MLflow runs.

    ``exclude`` are runs never to touch (the caller's own run). With ``dry_run`` nothing changes:
    the report says what would be done.
    """
    import dagster as dg

    from playlist_assets.lib.mlflow_runs import MlflowStoreError, end_orphaned_mlflow_runs

    skip = set(exclude)
    report = RecoveryReport(orphaned=find_orphaned_runs(instance, skip))
    for orphan in report.orphaned:
        if dry_run:
            continue
        run = instance.get_run_by_id(orphan.run_id)
        if run is not None and run.status in (
            dg.DagsterRunStatus.STARTED,
            dg.DagsterRunStatus.CANCELING,
        ):
            instance.report_run_failed(
                run,
                f"Run process {_pids(orphan.pids)} is gone (killed or the machine restarted): "
                "marked failed by playlist_assets run recovery; its pool slots are freed.",
            )
    over = {r.run_id for r in report.orphaned}
    for run_id in sorted(_slot_holders(instance) - skip):
        run = instance.get_run_by_id(run_id)
        if run_id in over or run is None or run.is_finished:
            if not dry_run:
                instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            report.freed_runs.append(run_id)
    if mlflow_uri:

        def is_over(dagster_run_id: str) -> bool:
            if dagster_run_id in over:
                return True
            run = instance.get_run_by_id(dagster_run_id)
            return run is not None and run.is_finished

        try:
            report.mlflow_runs = end_orphaned_mlflow_runs(mlflow_uri, is_over, dry_run=dry_run).runs
        except MlflowStoreError as exc:
            report.mlflow_error = str(exc)
    return report
