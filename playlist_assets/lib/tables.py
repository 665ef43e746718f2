"""Small DuckDB helpers the stores and the loader share (light: DuckDB only)."""

from __future__ import annotations

import duckdb
import pandas as pd


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".") if "." in table else ("main", table)
    row = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Append ``frame`` to ``table`` by column name (nothing when it is empty)."""
    if len(frame):
        conn.register("_inserted_rows", frame)
        try:
            conn.execute(f"insert into {table} by name select * from _inserted_rows")
        finally:
            conn.unregister("_inserted_rows")
