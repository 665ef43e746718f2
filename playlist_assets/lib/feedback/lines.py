"""An hour's landing lines judged in DuckDB: accepted rows, and every unusable line with its reason.

The API (and clients' batch files) write JSON lines per the contract (``contract``). DuckDB reads
an hour's files and splits them into whole lines (``stage_lines``), and its JSON functions (C++)
parse and judge them in SQL (``judge_lines``, by the rules of ``line_rules``): each line gets at
most one reason, the first rule it breaks, in this order: not JSON, not an object, each field
missing or of the wrong type (in the contract's field order), a value outside its set, the time
not ISO 8601 or outside the hour, a repeat within the hour (the first line of a request or event
counts). Feedback is also judged
against what was served: the request among the impressions of the hour or the 24 before, the
track in its list, the event not already stored for an earlier hour.

The judged lines stay on the connection (``JUDGED``: a temporary table of impressions, a view of
feedback joined with what served it): the store copies the accepted rows and the rejects (file,
line, reason, the line itself) into the warehouse from there, so an hour of 20 requests/s never
becomes Python objects row by row. The accepted ones go straight into the warehouse; the rejected
ones (few, usually none) are looked for only when fewer rows were stored than lines judged. An
hour of impressions is first stored straight from its judging, with no table in between, by a
statement that fails on the first line it would not accept (its JSON parsed without ``try``, so
a line that is not JSON fails it too): such an hour is rolled back and judged into ``JUDGED``
(for the reasons); an hour with a request twice is judged again into ``JUDGED`` (for the
repeats) and stored again, in the same transaction. What feedback was
judged against (``store.SERVED``, ``store.EARLIER``) stays on the connection for the hour's
check (``suites.hour_summary``), which would otherwise read the same rows again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from playlist_assets.lib.feedback.contract import (
    FEEDBACK_DIR,
    IMPRESSIONS_DIR,
    hour_folder,
    line_files,
    whole_text,
)
from playlist_assets.lib.feedback.line_rules import (
    JUDGED,
    LINE_JUDGED,
    LINES,
    REPEATED,
    fill,
    judge_sql,
    keys_once_sql,
    quote,
    repeated_events_sql,
    repeated_requests_sql,
    served_sql,
)
from playlist_assets.lib.feedback.store import (
    EARLIER,
    FEEDBACK_REJECTS_TABLE,
    FEEDBACK_TABLE,
    FEEDBACK_WINDOW,
    IMPRESSIONS_REJECTS_TABLE,
    IMPRESSIONS_TABLE,
    SERVED,
    earlier_events_sql,
    ensure_tables,
    keep_staged,
    replacing_hour,
    stage_served,
)
from playlist_assets.lib.feeds.landing import hour_folder_name

_FILE_STRIDE = 2**32  # seq = file's position * _FILE_STRIDE + line
_REJECTED = "_rejected_lines"  # temp table: the judged lines with a reason (few, usually none)
# A rejected line is kept as it came (it is the row as JSON); one that is not JSON only in part.
_ROW_JSON = "case when j.reason = 'not JSON' then left(l.text, 2000) else l.text end"


def _drop(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the temp view or table ``name``."""
    for kind in ("view", "table"):
        with contextlib.suppress(duckdb.CatalogException):  # it is the other kind
            conn.execute(f"drop {kind} if exists {name}")


def stage_lines(
    conn: duckdb.DuckDBPyConnection,
    landing: Path,
    kind: str,
    start: datetime,
    *,
    decode_here: bool = False,
) -> list[str]:
    """``LINES``: the whole, non-blank lines of the hour's files of ``kind`` (``seq`` orders
    them: file, then line), as a view that reads the files. Returns the files, in ``seq``'s
    order (``origin_sql`` turns a ``seq`` back into its file and line).

    DuckDB reads the files (``read_text``) and splits them at newlines; the part after a
    file's last newline (the last element of the split: empty when the file ends with one) is
    left out. A CR before the newline stays (JSON reads it as white space). Blank lines are
    skipped (a longer run of spaces is kept and rejected as not JSON: cheaper than trimming
    every line). With ``decode_here`` (``load_hour``'s second try, when a file was not valid
    UTF-8), the lines are decoded here instead (bad bytes as U+FFFD) into a table.
    """
    files = [str(p) for p in line_files(hour_folder(landing, kind, hour_folder_name(start)))]
    listing = "[" + ", ".join(quote(f) for f in files) + "]"
    lines = f"""
        select list_position({listing}::varchar[], source) * {_FILE_STRIDE} + line as seq,
               source, line, text
        from (select source, generate_subscripts(parts, 1) as line, unnest(parts) as text,
                     len(parts) as n
              from (select @source as source, string_split(@content, chr(10)) as parts
                    @origin))
        where line < n  -- a CASE trims only the short lines (an OR trimmed them all)
          and case when strlen(text) > 8 then true else trim(text, e' \\t\\r') <> '' end"""
    _drop(conn, LINES)
    if not files:
        conn.execute(
            f"create temp table {LINES} (seq bigint, source varchar, line bigint, text varchar)"
        )
        return files
    if not decode_here:  # a file that is not UTF-8 fails the first query reading the view
        origin = f"from read_text({listing})"
        conn.execute(
            f"create temp view {LINES} as "
            + fill(lines, source="filename", content="content", origin=origin)
        )
        return files
    conn.execute(
        f"create temp table {LINES} (seq bigint, source varchar, line bigint, text varchar)"
    )
    for path in files:
        conn.execute(
            f"insert into {LINES} " + fill(lines, source="?", content="?", origin=""),
            [path, whole_text(path)],
        )
    return files


def origin_sql(files: list[str], seq: str) -> str:
    """SQL: ``source`` and ``line`` of the line whose ``seq`` (a column) ``stage_lines`` gave,
    as two select items. The judged lines carry ``seq`` alone: a file name on every one of an
    hour's 360,000 rows, gathered through each join and copy on the way to the insert, cost
    more than computing it once at the insert (benchmarks/results/feedback.md)."""
    listing = "([" + ", ".join(quote(f) for f in files) + "]::varchar[])"
    source = quote(files[0]) if len(files) == 1 else f"{listing}[{seq} // {_FILE_STRIDE}]"
    return f"{source} as source, {seq} % {_FILE_STRIDE} as line"


def judge_lines(conn: duckdb.DuckDBPyConnection, kind: str, start: datetime, end: datetime) -> None:
    """``JUDGED`` from ``LINES``: every line's stored columns but its file and line (``seq``,
    its key in ``LINES``, gives both: ``origin_sql``) and its reason, null when accepted; a table
    for impressions. Feedback is also judged against what was served, in a view (``served_sql``)
    over the judged lines (``LINE_JUDGED``): the request among the impressions stored for the
    hour or the 24 before (the earliest if repeated) gives ``rank``, ``arm``, ``model_version``
    and ``strategy``; rejected when the request was not served, the track was not in its list,
    or the same event is stored for an earlier hour (feedback may come a day late)."""
    assert kind in (IMPRESSIONS_DIR, FEEDBACK_DIR), kind
    ensure_tables(conn)
    _drop(conn, JUDGED)
    if kind == IMPRESSIONS_DIR:
        conn.execute(f"create temp table {JUDGED} as {judge_sql(kind)}", [start, end])
        found, mark = repeated_requests_sql(JUDGED)
        if conn.execute(found).fetchone()[0]:
            conn.execute(mark)
        return
    conn.execute(f"create or replace temp table {LINE_JUDGED} as {judge_sql(kind)}", [start, end])
    first = stage_served(  # the impression each request answers: the earliest if stored twice
        conn,
        SERVED,
        f"select distinct request_id from {LINE_JUDGED} where reason is null",
        start - FEEDBACK_WINDOW,
        end,
        ("ranked", "arm", "model_version", "strategy"),
    )
    first = first or start
    conn.execute(
        f"create or replace temp table {EARLIER} as {earlier_events_sql(SERVED)}", [first, start]
    )
    # Repeats are grouped only when some key may be there twice: most hours have none, and
    # grouping every line by its key cost ~2x counting the distinct hashes of the keys.
    repeated = repeated_events_sql()
    if conn.execute(keys_once_sql()).fetchone()[0]:
        repeated += " limit 0"
    conn.execute(f"create or replace temp table {REPEATED} as {repeated}")
    # A view: the accepted rows go from the join straight into the warehouse (a table of every
    # line joined once more cost more than joining twice: for the rejects, and for the rows).
    conn.execute(f"create temp view {JUDGED} as {served_sql()}")
    keep_staged(conn, start)  # the hour's check on this connection reuses both


_NOT_CLEAN = "a line of the hour is not accepted: judged again"


def _accepted_sql(files: list[str], judged: str, *, or_fail: bool = False) -> str:
    """The stored rows of the judged lines ``judged`` (a table, view or subquery); ``or_fail``:
    a line with a reason fails the statement instead (``_stored_clean``)."""
    accepted = (
        f"case when reason is null then true else error({quote(_NOT_CLEAN)}) end"
        if or_fail
        else "reason is null"
    )
    return f"select * exclude (seq, reason), {origin_sql(files, 'seq')} from {judged} " + (
        f"where {accepted}"
    )


def _stored_clean(
    conn: duckdb.DuckDBPyConnection,
    files: list[str],
    replace: Callable[..., int],
    rows: str,
    start: datetime,
    end: datetime,
) -> bool:
    """Store the hour's impressions straight from their judging (no table of judged lines in
    between) if every line is accepted, and say whether that was the whole story: each request
    once (most hours). If a request is there twice, the caller judges the lines again into
    ``JUDGED``, for the repeats, and stores the hour again (same transaction). A line that is
    not accepted (or not JSON: the judging is not ``guarded``, ``line_rules.judge_sql``) fails
    the insert with ``duckdb.InvalidInputException``, so no count of the lines is needed here;
    the caller rolls back and judges the hour guarded (``load_hour``)."""
    judged = judge_sql(IMPRESSIONS_DIR, guarded=False)
    replace(rows, _accepted_sql(files, f"({judged})", or_fail=True), [start, end])
    hour = "partition_hour >= ? and partition_hour < ?"
    once = f"select count(*) = count(distinct request_id) from {rows} where {hour}"
    return bool(conn.execute(once, [start, end]).fetchone()[0])


def _rejected(
    conn: duckdb.DuckDBPyConnection, files: list[str], impressions: bool
) -> tuple[list[tuple[str, int]], str]:
    """The reasons of the lines ``JUDGED`` kept aside (with how many, most frequent first), and
    the rows of the rejects table (their text read again from the files)."""
    conn.execute(
        f"create or replace temp table {_REJECTED} as select * from {JUDGED} "
        "where reason is not null"
    )
    reasons = conn.execute(
        f"select reason, count(*) n from {_REJECTED} group by reason order by n desc, reason"
    ).fetchall()
    track = "null" if impressions else "j.track_id"
    rejected = (
        f"select * exclude (line), line as row_number from (select "
        f"{origin_sql(files, 'j.seq')}, {track} as track_id, j.reason, "
        f"{_ROW_JSON} as row_json, j.partition_hour from {_REJECTED} j "
        f"join {LINES} l using (seq))"
    )
    return reasons, rejected


@dataclass(frozen=True)
class HourSummary:
    """What one hour's load stored: rows, rejected lines, their reasons and the rows per arm
    (impressions) or event (feedback)."""

    rows: int
    rejected: int
    reasons: tuple[str, ...]  # distinct, most frequent first
    counts: dict[str, int]


def load_hour(
    conn: duckdb.DuckDBPyConnection, landing: Path, kind: str, start: datetime, end: datetime
) -> HourSummary:
    """Read, judge and store the hour's lines of ``kind``: the hour [start, end) of its table and
    of its rejects table replaced in one transaction (idempotent, backfillable).

    A file that is not valid UTF-8 fails DuckDB's read (the judging, or the rejects' text: a
    write caught mid-character between reads); the whole hour then goes through the
    decoded-here table instead of failing the run."""
    try:
        return _load_hour(conn, landing, kind, start, end, decode_here=False)
    except duckdb.InvalidInputException:
        return _load_hour(conn, landing, kind, start, end, decode_here=True)


def _load_hour(
    conn: duckdb.DuckDBPyConnection,
    landing: Path,
    kind: str,
    start: datetime,
    end: datetime,
    *,
    decode_here: bool,
) -> HourSummary:
    files = stage_lines(conn, landing, kind, start, decode_here=decode_here)
    if kind == IMPRESSIONS_DIR:  # most hours: every line accepted (``_stored_clean``)
        try:
            return _store_hour(conn, files, kind, start, end, clean_first=True)
        except duckdb.Error:  # a line not accepted, not JSON, a file not UTF-8 (or anything
            pass  # else): rolled back; judged line by line, which names the reasons (or fails)
    return _store_hour(conn, files, kind, start, end, clean_first=False)


def _store_hour(
    conn: duckdb.DuckDBPyConnection,
    files: list[str],
    kind: str,
    start: datetime,
    end: datetime,
    *,
    clean_first: bool,
) -> HourSummary:
    """The hour's lines judged from ``LINES`` and stored, in one transaction (``load_hour``);
    ``clean_first``: impressions stored straight from their judging (``_stored_clean``)."""
    impressions = kind == IMPRESSIONS_DIR
    rows, rejects = (
        (IMPRESSIONS_TABLE, IMPRESSIONS_REJECTS_TABLE)
        if impressions
        else (FEEDBACK_TABLE, FEEDBACK_REJECTS_TABLE)
    )
    by = "arm" if impressions else "event"
    reasons: list[tuple[str, int]] = []
    with replacing_hour(conn, start, end) as replace:
        if clean_first and _stored_clean(conn, files, replace, rows, start, end):
            replace(rejects, None)
        else:
            judge_lines(conn, kind, start, end)
            every = conn.execute(f"select count(*) from {JUDGED if impressions else LINE_JUDGED}")
            judged_lines = every.fetchone()[0]  # feedback's view has one row per judged line
            stored = replace(rows, _accepted_sql(files, JUDGED))
            rejected = None
            if stored < judged_lines:  # the lines kept aside (none in most hours: not looked for)
                reasons, rejected = _rejected(conn, files, impressions)
            replace(rejects, rejected)
    counts = dict(  # of the hour just stored: the accepted lines
        conn.execute(
            f"select {by}, count(*) from {rows} where partition_hour >= ? and partition_hour < ? "
            f"group by {by} order by 1",
            [start, end],
        ).fetchall()
    )
    for name in (LINES, JUDGED, _REJECTED, LINE_JUDGED, REPEATED):
        _drop(conn, name)
    return HourSummary(
        rows=sum(counts.values()),
        rejected=sum(n for _, n in reasons),
        reasons=tuple(r for r, _ in reasons),
        counts=counts,
    )
