"""Drives a running Dagster webserver through GraphQL, as the UI or a script would.

Shared by the service end-to-end test and ``benchmarks/bench_service.py`` (the same work on the
service profile and on ``dagster dev`` + SQLite), so both measure exactly the same requests.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from dagster_graphql import DagsterGraphQLClient

LOCATION = "playlist_assets"
REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

ASSET_NODES = """
query { assetNodes(loadMaterializations: false) { assetKey { path } isPartitioned isExecutable } }
"""
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status numPartitions }
    ... on PythonError { message }
  }
}
"""
RUNS = """
query($filter: RunsFilter!) {
  runsOrError(filter: $filter, limit: 1000) {
    ... on Runs { results { runId status tags { key value } } }
    ... on PythonError { message }
  }
}
"""
RUN_ERRORS = """
query($id: ID!) {
  logsForRun(runId: $id) {
    ... on EventConnection { events { __typename ... on MessageEvent { message level } } }
  }
}
"""
MATERIALIZATIONS = """
query($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(limit: 10000) { partition runId } }
  }
}
"""
SENSOR = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor {
      sensorState {
        status
        typeSpecificData { ... on SensorData { lastCursor } }
        ticks(limit: 50) { timestamp status cursor }
      }
    }
    ... on PythonError { message }
  }
}
"""
HEALTH = """
query {
  instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } }
  workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message } } } } }
}
"""


@dataclass(frozen=True)
class SensorView:
    cursor: str | None
    tick_times: list[float]


def connect(
    port: int,
    host: str = "127.0.0.1",
    *,
    use_https: bool = False,
    auth: tuple[str, str] | None = None,
    path_prefix: str = "",
) -> DagsterGraphQLClient:
    """A client of the webserver on ``port``, or of the door (HTTPS, a login, ``/view``)."""
    from requests.auth import HTTPBasicAuth

    return DagsterGraphQLClient(
        host,
        port_number=port,
        timeout=120,
        use_https=use_https,
        auth=HTTPBasicAuth(*auth) if auth else None,
        path_prefix=path_prefix,
    )


def query(client: DagsterGraphQLClient, text: str, variables: dict | None = None) -> dict:
    return client._execute(text, variables)  # the client's public methods cover runs only


def healthy(client: DagsterGraphQLClient) -> tuple[bool, str]:
    """Whether the code location loaded and every required daemon heartbeats, and why not."""
    data = query(client, HEALTH)
    entries = data["workspaceOrError"]["locationEntries"]
    location = next((e["locationOrLoadError"] for e in entries if e["name"] == LOCATION), None)
    if not location or location["__typename"] != "RepositoryLocation":
        return False, f"code location {LOCATION}: {location}"
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    sick = [s["daemonType"] for s in statuses if s["required"] and not s["healthy"]]
    return (not sick and bool(statuses)), f"unhealthy daemons: {sick}"


def unpartitioned_assets(client: DagsterGraphQLClient) -> list[list[str]]:
    nodes = query(client, ASSET_NODES)["assetNodes"]
    return [n["assetKey"]["path"] for n in nodes if n["isExecutable"] and not n["isPartitioned"]]


def materialize(client: DagsterGraphQLClient, keys: list[list[str]]) -> str:
    """Launch one run of the given assets (and their checks); returns its run id."""
    return client.submit_job_execution(
        ASSET_JOB,
        repository_location_name=LOCATION,
        repository_name=REPOSITORY,
        asset_selection=keys,
    )


def materialize_partition(client: DagsterGraphQLClient, job: str, partition: str) -> str:
    """Queue one run of a partitioned job for one partition, as its schedule does."""
    return client.submit_job_execution(
        job,
        repository_location_name=LOCATION,
        repository_name=REPOSITORY,
        tags={"dagster/partition": partition},
    )


def runs_of(client: DagsterGraphQLClient, run_ids: list[str]) -> list[dict]:
    return query(client, RUNS, {"filter": {"runIds": run_ids}})["runsOrError"]["results"]


def wait_runs(client: DagsterGraphQLClient, run_ids: list[str], timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        runs = runs_of(client, run_ids)
        if len(runs) == len(run_ids) and all(r["status"] in FINISHED for r in runs):
            return runs
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs not finished after {timeout:.0f} s: {runs_by_status(runs)}")
        time.sleep(3)


def wait_idle(client: DagsterGraphQLClient, timeout: float) -> None:
    """Until no run of the instance is queued or in progress (sensor-requested ones included)."""
    active = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]
    deadline = time.monotonic() + timeout
    while query(client, RUNS, {"filter": {"statuses": active}})["runsOrError"]["results"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs still active after {timeout:.0f} s")
        time.sleep(3)


def wait_run(client: DagsterGraphQLClient, run_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get_run_status(run_id).value
        if status in FINISHED:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {status} after {timeout:.0f} s")
        time.sleep(2)


def launch_job_backfill(client: DagsterGraphQLClient, job: str, partitions: list[str]) -> str:
    """A backfill of a partitioned job: one run per partition, queued by the daemon."""
    params = {
        "selector": {
            "partitionSetName": f"{job}_partition_set",
            "repositorySelector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
            },
        },
        "partitionNames": partitions,
    }
    result = query(client, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"backfill not launched: {result}")
    return result["backfillId"]


def backfill_status(client: DagsterGraphQLClient, backfill_id: str) -> str:
    return query(client, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]["status"]


def backfill_runs(client: DagsterGraphQLClient, backfill_id: str) -> list[dict]:
    runs_filter = {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}
    return query(client, RUNS, {"filter": runs_filter})["runsOrError"]["results"]


def runs_by_status(runs: list[dict]) -> Counter:
    return Counter(r["status"] for r in runs)


def errors(client: DagsterGraphQLClient, runs: list[dict]) -> dict[str, list[str]]:
    """The error-level event messages of every run that did not succeed (why, for a failure)."""
    out = {}
    for run in runs:
        if run["status"] != "SUCCESS":
            events = query(client, RUN_ERRORS, {"id": run["runId"]})["logsForRun"]["events"]
            out[run["runId"]] = [
                f"{e['__typename']}: {e['message']}" for e in events if e.get("level") == "ERROR"
            ]
    return out


def materializations_per_partition(client: DagsterGraphQLClient, asset: str) -> Counter:
    data = query(client, MATERIALIZATIONS, {"key": {"path": [asset]}})["assetOrError"]
    return Counter(m["partition"] for m in data.get("assetMaterializations", []))


def sensor(client: DagsterGraphQLClient, name: str) -> SensorView:
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": name,
    }
    state = query(client, SENSOR, {"selector": selector})["sensorOrError"]["sensorState"]
    return SensorView(
        cursor=state["typeSpecificData"].get("lastCursor"),
        tick_times=sorted(float(t["timestamp"]) for t in state["ticks"]),
    )


def wait_backfill(client: DagsterGraphQLClient, backfill_id: str, runs: int, timeout: float):
    """Until the backfill completed and its runs all finished; returns the runs."""
    deadline = time.monotonic() + timeout
    while True:
        status = backfill_status(client, backfill_id)
        found = backfill_runs(client, backfill_id)
        done = [r for r in found if r["status"] in FINISHED]
        if (
            status in {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"}
            and len(done) == len(found) >= runs
        ):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"backfill {backfill_id} {status} after {timeout:.0f} s: {runs_by_status(found)}"
            )
        time.sleep(3)
