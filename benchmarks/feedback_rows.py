"""Whether two data folders stored the same listeners' rows: per table the row count and
``sum(hash(column))`` of every column (``quarantined_at`` left out, ``source`` without the
folder before ``landing/``).

    /work/main/.venv/bin/python benchmarks/feedback_rows.py <folder A> <folder B>
"""

from __future__ import annotations

import sys

import duckdb

TABLES = (
    "recommendation_impressions",
    "recommendation_feedback",
    "recommendation_impressions_rejects",
    "recommendation_feedback_rejects",
    "online_metrics",
    "online_arm_difference",
    "online_user_counts",
)


def digest(folder: str) -> dict[str, tuple | None]:
    """Per table: its columns, the row count and each column's hash sum (None: no table)."""
    out: dict[str, tuple | None] = {}
    with duckdb.connect(f"{folder}/warehouse.duckdb", read_only=True) as conn:
        for table in TABLES:
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'main' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            sums = [
                "sum(hash(regexp_replace(source, '^.*/landing/', '')))::hugeint"
                if c == "source"
                else f'sum(hash("{c}"))::hugeint'
                for c in columns
                if c != "quarantined_at"
            ]
            out[table] = (
                (
                    tuple(columns),
                    conn.execute(
                        f"select count(*), {', '.join(sums)} from main.{table}"
                    ).fetchone(),
                )
                if columns
                else None
            )
    return out


def main() -> None:
    a, b = digest(sys.argv[1]), digest(sys.argv[2])
    for table in TABLES:
        rows = [None if d[table] is None else d[table][1][0] for d in (a, b)]
        print(
            f"{table}: {'same' if a[table] == b[table] else 'DIFFERENT'} ({rows[0]} / {rows[1]} rows)"
        )
    print("all the same" if a == b else "DIFFERENT")
    sys.exit(0 if a == b else 1)


if __name__ == "__main__":
    main()
