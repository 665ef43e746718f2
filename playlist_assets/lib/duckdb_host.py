"""A DuckDB database file attached for one step to an in-memory database kept for the process.

Every new DuckDB database instance builds its catalog of built-in functions: ~18 ms of CPU even
for ``:memory:``, 20-35 ms with the file's open and close, paid by each step that connects to
the warehouse (three an hour for the feedback assets: benchmarks/results/feedback.md).
Attaching the file to one in-memory instance of the process and detaching it after costs
~5 ms. The file is open, and its lock held, only while attached, as with a connection of its
own: a step of another process can take it between two steps. Settings made with ``set`` are
the host's, so they outlast the step (as they outlasted a connection while the process kept
the database open).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

ALIAS = "attached_db"  # the attached file's catalog name (``use``d: ``main.x`` is the file's)
# As dagster_duckdb's DuckDBResource.get_connection: 10 retries, 0.1 s doubling each time.
RETRIES, FIRST_DELAY_S = 10, 0.1

_LOCK = threading.Lock()  # DuckDB attaches a file once per instance: one step at a time
_host: duckdb.DuckDBPyConnection | None = None


def _the_host() -> duckdb.DuckDBPyConnection:
    global _host
    if _host is None:
        _host = duckdb.connect(":memory:", config={"custom_user_agent": "dagster"})
    return _host


def _attach(host: duckdb.DuckDBPyConnection, database: str) -> None:
    """Attach ``database`` as ``ALIAS``, retried while another process holds its lock."""
    quoted = "'" + database.replace("'", "''") + "'"
    delay = FIRST_DELAY_S
    for retry in range(RETRIES + 1):
        try:
            host.execute(f"attach {quoted} as {ALIAS}")
            return
        except (RuntimeError, duckdb.IOException):
            if retry == RETRIES:
                raise
            time.sleep(delay)
            delay *= 2


@contextmanager
def attached(database: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to ``database`` (a DuckDB file) for the block: the file attached to the
    process's in-memory host and made the default catalog; the connection is closed (its temp
    tables dropped, an open transaction rolled back) and the file detached at the end, also
    when the block raises."""
    with _LOCK:
        host = _the_host()
        host.execute(f"detach database if exists {ALIAS}")  # left by a step that died mid-way
        _attach(host, database)
        try:
            conn = host.cursor()
            try:
                conn.execute(f"use {ALIAS}")
                yield conn
            finally:
                conn.close()
        finally:
            host.execute(f"detach database if exists {ALIAS}")
