"""Dead runs never block live ones: the code location's executor and a sensor recover them.

- ``recovering_in_process_executor``: Dagster's in-process executor that first records the run's
  host and recovers orphaned runs (``playlist_assets.run_recovery``), so a run started after a
  kill -9 or a reboot frees the dead run's ``duckdb`` slot itself instead of waiting forever.
- ``orphaned_runs_sensor``: the same recovery every minute under ``dagster dev``, also when no
  run starts (a dead run's MLflow run is ended even if nothing else runs).
- :func:`sleep_while_blocked`: a blocked step waits without spinning a CPU (see its docstring).
- a read-only data folder fails the run at once with one line (before any step).
"""

from __future__ import annotations

import time

import dagster as dg

from playlist_assets import run_recovery, settings

# Longest a blocked step sleeps between two claims of a pool slot (Dagster's own maximum is 15 s).
_MAX_BLOCKED_SLEEP_S = 5.0


def sleep_while_blocked() -> None:
    """Make Dagster's in-process executor sleep while its steps wait for a pool slot.

    ``InstanceConcurrencyContext.interval_to_next_pending_claim_check`` (dagster 1.13) returns
    ``min([0, ...])``, which is never positive, so the executor's loop never sleeps and a run
    blocked on a pool burns a full CPU while it waits. The replacement returns the time until the
    earliest pending claim is due again (capped), which is what the executor's caller expects.
    """
    from dagster._core.execution.plan.instance_concurrency_context import (
        InstanceConcurrencyContext,
    )

    if getattr(InstanceConcurrencyContext, "_playlist_assets_sleeps", False):
        return

    def interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
        if not self._pending_claims or not self._pending_timeouts:
            return 0.0
        due = min(self._pending_timeouts.values()) - time.time()
        return max(0.0, min(due, _MAX_BLOCKED_SLEEP_S))

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = (  # type: ignore[method-assign]
        interval_to_next_pending_claim_check
    )
    InstanceConcurrencyContext._playlist_assets_sleeps = True  # type: ignore[attr-defined]


sleep_while_blocked()


def recover(instance: dg.DagsterInstance, own_run_id: str | None = None) -> list[str]:
    """One recovery pass; the lines say what was done (empty when nothing was orphaned)."""
    report = run_recovery.recover_orphaned_runs(
        instance,
        mlflow_uri=settings.mlflow_tracking_uri(),
        exclude=[own_run_id] if own_run_id else [],
    )
    return report.lines() if report.did_something or report.mlflow_error else []


class _RecoveringExecutor(dg.Executor):
    """Delegates to the in-process executor after recovering the runs that died before this one."""

    def __init__(self, inner: dg.Executor) -> None:
        self._inner = inner

    @property
    def retries(self):  # noqa: ANN201 - Dagster's RetryMode
        return self._inner.retries

    @property
    def step_dependency_config(self):  # noqa: ANN201
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):  # noqa: ANN001, ANN201
        from dagster._core.events import EngineEventData

        from playlist_assets.lib.data_folder import unwritable_reason

        problem = unwritable_reason(settings.data_home())
        if problem:  # fail now, in one line, rather than after dagster-duckdb's retries
            raise dg.Failure(
                description=f"{problem}: fix its permissions or set "
                f"{settings.DATA_HOME_ENV} to a writable folder"
            )
        instance, run_id = plan_context.instance, plan_context.run_id
        try:
            instance.add_run_tags(run_id, {run_recovery.HOST_TAG: run_recovery.this_host()})
            lines = recover(instance, own_run_id=run_id)
        except Exception as exc:  # recovery must never be why a run fails
            lines = [f"skipped: {exc}"]
        for line in lines:
            yield dg.DagsterEvent.engine_event(
                plan_context, f"Run recovery: {line}", EngineEventData()
            )
        yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(name="in_process", config_schema=dg.in_process_executor.config_schema)
def recovering_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in-process executor, preceded by the recovery of orphaned runs."""
    return _RecoveringExecutor(dg.in_process_executor.executor_creation_fn(init_context))


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died (kill -9, reboot) as failed, frees the pool slots "
    "they held and ends their MLflow runs as KILLED, so the next run is not blocked.",
)
def orphaned_runs_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    lines = recover(context.instance)
    for line in lines:
        context.log.warning(line)
    return dg.SkipReason("; ".join(lines) if lines else "no orphaned runs")


defs = dg.Definitions(sensors=[orphaned_runs_sensor])
