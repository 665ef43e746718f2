"""A minimal load generator for bench_api.py: keep-alive HTTP/1.1 on asyncio streams.

Requests are encoded once; each client sends the next as soon as the last answer is read, so
the measured server, not the client, uses the machine (httpx costs several times the CPU per
request). Also the process figures the benchmark reads from /proc.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

K = 100
# Requests due this long from the start of a promotion count as "around the swap" (its writing
# process, the service's load of the co-occurrence, the swap, the new ranking processes).
SWAP_SPAN_S = 5.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (load-independent cost)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds all processes of the machine used so far (``/proc/stat``: all but idle and
    iowait), to set the service's share of the cores against everything else's."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def vm_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(next(line for line in fh if line.startswith(field)).split()[1])


def descendants(pid: int) -> list[int]:
    """Live (not zombie) processes under ``pid`` (the API's ranking processes)."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parent[int(stat.parent.name)] = int(fields[1])
    out, frontier = [], [pid]
    while frontier:
        below = [p for p, pp in parent.items() if pp in frontier]
        out.extend(below)
        frontier = below
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its exited children it collected and its live descendants."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK") + sum(_cpu_or_zero(p) for p in descendants(pid))


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def tree_memory_mib(pid: int) -> dict:
    """Memory of a process and its descendants (MiB): ``pss`` (each shared page divided among
    the processes sharing it: what the tree costs the machine), ``uss`` (pages only one process
    holds), ``rss`` (summed: shared pages counted once per process), and how many processes."""
    total = {"pss": 0, "uss": 0, "rss": 0}
    pids = [pid, *descendants(pid)]
    for p in pids:
        try:
            lines = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        kib = {ln.split(":")[0]: int(ln.split()[1]) for ln in lines[1:] if ln.endswith("kB")}
        total["pss"] += kib["Pss"]
        total["uss"] += kib["Private_Clean"] + kib["Private_Dirty"]
        total["rss"] += kib["Rss"]
    return {**{k: v / 1024 for k, v in total.items()}, "processes": len(pids)}


def request_bytes(port: int, key: str, seeds: list[str], user: str) -> bytes:
    body = json.dumps({"seeds": seeds, "k": K, "user": user}).encode()
    head = (
        f"POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def one_client(
    port: int,
    requests: list[bytes],
    until: float,
    out: list,
    interval: float | None = None,
    phase: float = 0.0,
) -> None:
    """Requests on one keep-alive connection: back to back, or one every ``interval`` seconds
    (from ``phase``); (start, seconds, status, version) each. Paced, a request's time counts
    from when it was due, so a server that falls behind shows its queue (no coordinated
    omission)."""
    reader = writer = None
    i = 0
    first = time.perf_counter() + phase
    while time.perf_counter() < until:
        started = time.perf_counter()
        if interval is not None:
            due = first + i * interval
            if due >= until:
                break
            if due > started:
                await asyncio.sleep(due - started)
            started = due
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(requests[i % len(requests)])
            i += 1
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            out.append((started, time.perf_counter() - started, type(exc).__name__, None))
            writer = None
            continue
        at = body.find(b'"model_version":"')
        version = body[at + 17 : body.find(b'"', at + 17)].decode() if at >= 0 else None
        out.append((started, time.perf_counter() - started, status, version))
    if writer is not None:
        writer.close()


async def load(
    port: int,
    requests: list[bytes],
    clients: int,
    seconds: float,
    swap_at: float,
    swap,
    rate: float | None = None,
) -> list:
    """``clients`` connections for ``seconds``: back to back, or ``rate`` requests/s offered in
    all (spread evenly over the clients); ``swap()`` runs at ``swap_at``."""
    out: list = []
    until = time.perf_counter() + seconds
    interval = clients / rate if rate else None
    tasks = [
        asyncio.create_task(
            one_client(
                port,
                requests[c::clients] or requests,
                until,
                out,
                interval,
                (interval or 0.0) * c / clients,
            )
        )
        for c in range(clients)
    ]
    await asyncio.sleep(swap_at)
    swap_time = time.perf_counter()
    await asyncio.to_thread(swap)
    await asyncio.gather(*tasks)
    return [*out, ("swap", swap_time)]


def window(results: list, seconds: float) -> dict:
    """What one ``load`` measured: requests/s answered 200, latency percentiles, errors, the
    versions answered in order and how long after the swap the last one was first answered."""
    swap_time = results[-1][1]
    done = results[:-1]
    ok = [r for r in done if r[2] == 200]
    latencies = [r[1] * 1000 for r in ok] or [float("nan")]
    near = [r[1] * 1000 for r in ok if 0 <= r[0] - swap_time < SWAP_SPAN_S] or [float("nan")]
    away = [r[1] * 1000 for r in ok if not 0 <= r[0] - swap_time < SWAP_SPAN_S] or [float("nan")]
    versions = sorted({r[3] for r in ok if r[3]}, key=lambda v: min(r[0] for r in ok if r[3] == v))
    new = [r[0] + r[1] for r in ok if len(versions) > 1 and r[3] == versions[-1]]
    return {
        "requests": len(done),
        "rps": len(ok) / seconds,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "p99_swap_ms": percentile(near, 99),
        "p99_away_ms": percentile(away, 99),
        "errors": len(done) - len(ok),
        "versions": versions,
        "swap_visible_s": (min(new) - swap_time) if new else None,
    }
