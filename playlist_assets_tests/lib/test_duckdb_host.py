from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from playlist_assets.lib import duckdb_host
from playlist_assets.lib.duckdb_host import attached


def _other_process_writes(path: Path, value: int) -> subprocess.CompletedProcess:
    code = f"import duckdb; duckdb.connect({str(path)!r}).execute('insert into main.x values ({value})')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def _holding(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding ``path``'s DuckDB lock for ``seconds`` (started and holding)."""
    code = (
        f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
        f"time.sleep({seconds})"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_the_file_is_the_default_catalog_and_free_after_the_block(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with attached(str(path)) as conn:
        conn.execute("create schema if not exists main")
        conn.execute("create table main.x (a int)")
        conn.execute("insert into main.x values (1)")
        conn.execute("create temp table staged as select 1 as a")
    # the lock is released: another process writes the file
    assert _other_process_writes(path, 2).returncode == 0
    with attached(str(path)) as conn:
        assert conn.execute("select a from main.x order by a").fetchall() == [(1,), (2,)]
        with pytest.raises(duckdb.CatalogException):  # the last block's temp table is gone
            conn.execute("select * from staged")


def test_a_block_that_raises_rolls_back_and_detaches(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with attached(str(path)) as conn:
        conn.execute("create table main.x (a int)")
    with pytest.raises(ValueError), attached(str(path)) as conn:
        conn.execute("begin transaction")
        conn.execute("insert into main.x values (1)")
        raise ValueError("the step failed")
    assert _other_process_writes(path, 2).returncode == 0
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("select a from main.x").fetchall() == [(2,)]


def test_waits_while_another_process_holds_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"
    with attached(str(path)) as conn:
        conn.execute("create table main.x (a int)")
    holder = _holding(path, 1.0)
    try:
        began = time.monotonic()
        with attached(str(path)) as conn:
            assert conn.execute("select count(*) from main.x").fetchone() == (0,)
        assert time.monotonic() - began > 0.3  # it waited for the lock
    finally:
        holder.wait(timeout=30)
    monkeypatch.setattr(duckdb_host, "RETRIES", 0)
    holder = _holding(path, 5)
    try:
        with pytest.raises(duckdb.IOException), attached(str(path)):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with attached(str(path)) as conn:  # nothing was left attached by the failure
        assert conn.execute("select count(*) from main.x").fetchone() == (0,)
