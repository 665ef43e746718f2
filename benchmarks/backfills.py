"""Asset backfills for the benchmarks that drive a real ``dagster-daemon``: submit, then wait.

What the UI's "Launch backfill" does, through the instance: the daemon plans the runs by each
asset's backfill policy.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import dagster as dg


def submit_asset_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    partition_keys: Sequence[str],
    asset_keys: Sequence[str],
    title: str,
) -> str:
    """An asset backfill of ``asset_keys`` for ``partition_keys``; its id."""
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=defs.resolve_asset_graph(),
        partition_names=list(partition_keys),
        asset_selection=[dg.AssetKey(k) for k in asset_keys],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str, timeout_s: float) -> str:
    """The backfill's final status (e.g. ``COMPLETED_SUCCESS``), once it has one."""
    from dagster._core.execution.backfill import BulkActionStatus

    running = {BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = instance.get_backfill(backfill_id).status
        if status not in running:
            return status.value
        time.sleep(0.5)
    raise TimeoutError(f"backfill {backfill_id} did not finish within {timeout_s:.0f} s")
