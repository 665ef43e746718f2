"""An hour's landing lines judged in DuckDB: accepted rows, and every unusable line with its reason.

The API (and clients' batch files) write JSON lines per the contract (``contract``). DuckDB reads
an hour's files and splits them into whole lines (``stage_lines``), and its JSON functions (C++)
parse and judge them in SQL (``judge_lines``): each line gets at most one reason, the first rule it
breaks, in this order: not JSON, not an object, each field missing or of the wrong type (in the
contract's field order), a value outside its set, the time not ISO 8601 or outside the hour, a
repeat within the hour (the first line of a request or event counts). Feedback is also judged
against what was served: the request among the impressions of the hour or the 24 before, the
track in its list, the event not already stored for an earlier hour.

The judged lines stay in a temporary table of the connection (``JUDGED``): the store copies the
accepted rows and the rejects (file, line, reason, the line itself) into the warehouse from
there, so an hour of 20 requests/s never becomes Python objects row by row.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from playlist_assets.lib.feedback.contract import (
    ARMS,
    EVENTS,
    FEEDBACK_DIR,
    FEEDBACK_FIELDS,
    FEEDBACK_KEY,
    IMPRESSION_FIELDS,
    IMPRESSIONS_DIR,
    hour_folder,
    line_files,
    whole_text,
)
from playlist_assets.lib.feedback.store import (
    FEEDBACK_REJECTS_TABLE,
    FEEDBACK_TABLE,
    FEEDBACK_WINDOW,
    IMPRESSIONS_REJECTS_TABLE,
    IMPRESSIONS_TABLE,
    ensure_tables,
    replace_hour_from,
    stage_served,
)
from playlist_assets.lib.feeds.landing import hour_folder_name

LINES = "_landing_lines"  # temp view (or table): seq, source, line, text
_FILE_STRIDE = 2**32  # seq = file's position * _FILE_STRIDE + line
JUDGED = "_judged_lines"  # temp table: the stored columns, seq, reason (null: accepted)
_LINE_JUDGED, _SERVED = "_judged_feedback_lines", "_served_impressions"  # feedback's steps
_NULLABLE = frozenset({"user", "key_id"})  # null or a non-empty string
_TEXT = frozenset({"request_id", "model_version", "strategy", "track_id", "event"})
_LISTS = ("seeds", "ranked")  # lists of track ids (impressions)
# A rejected line is kept as it came (it is the row as JSON); one that is not JSON only in part.
_ROW_JSON = "case when j.reason = 'not JSON' then left(l.text, 2000) else l.text end"
# ISO 8601 with a zone (Z or an offset): converted to UTC; without one the time is UTC already.
_ZONED = r"\d:\d\d(:\d\d(\.\d*)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fill(sql: str, **parts: str) -> str:
    for name, value in parts.items():
        sql = sql.replace(f"@{name}", value)
    return sql


def _drop_lines(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop ``LINES``, a view or a table."""
    for kind in ("view", "table"):
        with contextlib.suppress(duckdb.CatalogException):  # it is the other kind
            conn.execute(f"drop {kind} if exists {LINES}")


def stage_lines(
    conn: duckdb.DuckDBPyConnection,
    landing: Path,
    kind: str,
    start: datetime,
    *,
    decode_here: bool = False,
) -> None:
    """``LINES``: the whole, non-blank lines of the hour's files of ``kind`` (``seq`` orders
    them: file, then line), as a view that reads the files.

    DuckDB reads the files (``read_text``) and splits them at newlines; the part after a
    file's last newline (the last element of the split: empty when the file ends with one) is
    left out. A CR before the newline stays (JSON reads it as white space). Blank lines are
    skipped (a longer run of spaces is kept and rejected as not JSON: cheaper than trimming
    every line). With ``decode_here`` (``load_hour``'s second try, when a file was not valid
    UTF-8), the lines are decoded here instead (bad bytes as U+FFFD) into a table.
    """
    files = [str(p) for p in line_files(hour_folder(landing, kind, hour_folder_name(start)))]
    listing = "[" + ", ".join(_quote(f) for f in files) + "]"
    lines = f"""
        select list_position({listing}::varchar[], source) * {_FILE_STRIDE} + line as seq,
               source, line, text
        from (select source, generate_subscripts(parts, 1) as line, unnest(parts) as text,
                     len(parts) as n
              from (select @source as source, string_split(@content, chr(10)) as parts
                    @origin))
        where line < n  -- a CASE trims only the short lines (an OR trimmed them all)
          and case when strlen(text) > 8 then true else trim(text, e' \\t\\r') <> '' end"""
    _drop_lines(conn)
    if not files:
        conn.execute(
            f"create temp table {LINES} (seq bigint, source varchar, line bigint, text varchar)"
        )
        return
    if not decode_here:  # a file that is not UTF-8 fails the first query reading the view
        origin = f"from read_text({listing})"
        conn.execute(
            f"create temp view {LINES} as "
            + _fill(lines, source="filename", content="content", origin=origin)
        )
        return
    conn.execute(
        f"create temp table {LINES} (seq bigint, source varchar, line bigint, text varchar)"
    )
    for path in files:
        conn.execute(
            f"insert into {LINES} " + _fill(lines, source="?", content="?", origin=""),
            [path, whole_text(path)],
        )


# What the API writes for an impression (``contract.IMPRESSION_FIELDS``, in order): parsed to
# these types in one pass by ``json_transform`` (which converts rather than rejects a value of
# another type, so its result is kept only when it writes back as exactly the line).
_IMPRESSION_TYPES = {
    **{name: "VARCHAR" for name in IMPRESSION_FIELDS},
    "k": "BIGINT",
    **{name: ["VARCHAR"] for name in _LISTS},
}


def _fast_impressions_sql() -> str:
    """Each line of ``LINES`` (seq, source, line, text), ``s`` (its fields typed), and ``fast``:
    true when the line is exactly ``s`` as compact JSON (so every field is present, once, of
    its type; numbers are integers; list elements are strings or null) and every value passes
    the rules the slower judging applies (non-empty ids, a known arm, k > 0, lists of
    non-empty ids, a UTC time with a Z inside the hour). Any other line (a batch file's
    spaces, a bad value) is judged by the generic path, which names its reason.
    Parameters: the hour's start and end."""
    struct = _quote(json.dumps(_IMPRESSION_TYPES, separators=(",", ":")))
    arms = ", ".join(_quote(a) for a in ARMS)
    lists = " and ".join(
        f"not list_contains(s.{n}, '') and list_count(s.{n}) = len(s.{n})" for n in _LISTS
    )
    return f"""
        select seq, source, line, text, s, coalesce(
            to_json(s)::varchar = text and s.request_id <> '' and s.model_version <> ''
            and s.strategy <> '' and coalesce(s.user <> '', true)
            and coalesce(s.key_id <> '', true) and s.arm in ({arms}) and s.k > 0 and {lists}
            and suffix(s.time, 'Z') and try_cast(s.time as timestamp) >= $1
            and try_cast(s.time as timestamp) < $2, false) as fast
        from (select *, try(json_transform(text, {struct})) as s from {LINES})"""


def _strings_written_as(values: str, raw: str) -> str:
    """SQL: true when the list ``values`` (its elements as strings) written back as compact JSON
    is ``raw`` (the array's compact JSON), so every element was a string without escapes: the
    API's lines, told apart without typing each element again. False otherwise (a number, a
    null, an escape, an empty list): the caller then types the elements (``json_type``)."""
    return f"""coalesce(('["' || array_to_string({values}, '","') || '"]') = {raw}, false)"""


def _field_reasons(fields: tuple[str, ...]) -> list[str]:
    """CASE branches: each field missing, then of the wrong type, in the contract's order."""
    branches = []
    for i, name in enumerate(fields, start=1):
        t, v = f"t[{i}]", f"v[{i}]"
        if name not in _NULLABLE:
            branches.append(f"when {t} is null or {t} = 'NULL' then 'missing field {name}'")
        if name in _TEXT or name in _NULLABLE:
            branches.append(
                f"when {t} <> 'NULL' and not ({t} = 'VARCHAR' and {v} <> '') "
                f"then 'field {name} is not a non-empty string'"
            )
    return branches


def _judge_sql(kind: str) -> str:
    """The query judging ``LINES`` of ``kind``; parameters: the hour's start and end."""
    impressions = kind == IMPRESSIONS_DIR
    fields = IMPRESSION_FIELDS if impressions else FEEDBACK_FIELDS
    at = {name: i for i, name in enumerate(fields, start=1)}
    paths = "[" + ", ".join(_quote(f"$.{f}") for f in fields) + "]"
    root_paths = "['$', " + paths[1:]
    time = f"v[{at['time']}]"
    branches = [
        "when not valid then 'not JSON'",
        "when root <> 'OBJECT' then 'not a JSON object'",
        *_field_reasons(fields),
    ]
    extra: list[str] = []
    lists: list[str] = []  # the lists' element types and values, computed once
    if impressions:
        arms = ", ".join(_quote(a) for a in ARMS)
        arm = f"v[{at['arm']}]"
        k = f"{at['k']}"
        branches.append(
            f"when {arm} not in ({arms}) then 'arm ' || {arm} || ' is not one of {'/'.join(ARMS)}'"
        )
        branches.append(
            f"when t[{k}] not in ('BIGINT', 'UBIGINT') or coalesce(try_cast(v[{k}] as bigint), 0)"
            " <= 0 then 'field k is not a positive integer'"
        )
        for name in _LISTS:
            raw = f"v[{at[name]}]"
            branches.append(
                f"when t[{at[name]}] <> 'ARRAY' or list_contains({name}, '') or not ("
                f"{_strings_written_as(name, raw)} or coalesce(list_bool_and(list_transform("
                f"json_type({raw}, '$[*]'), lambda x: x = 'VARCHAR')), true)) "
                f"then 'field {name} is not a list of track ids'"
            )
            lists.append(
                f"case when t[{at[name]}] = 'ARRAY' "
                f"then json_extract_string({raw}, '$[*]') end as {name}"
            )
        extra = [f"try_cast(v[{k}] as bigint) as k", *_LISTS]
    else:
        events = ", ".join(_quote(e) for e in EVENTS)
        event = f"v[{at['event']}]"
        branches.append(
            f"when {event} not in ({events}) then 'unknown event ' || {event} || "
            f"' (known: {', '.join(EVENTS)})'"
        )
    branches += [
        "when parsed_time is null then 'field time is not an ISO 8601 time'",
        f"when parsed_time < $1 or parsed_time >= $2 then 'time ' || {time} || "
        "' is outside the hour ' || strftime($1, '%Y-%m-%dT%H') || ':00..+1h'",
    ]
    columns = [
        f"case when t[{at[n]}] = 'VARCHAR' then v[{at[n]}] end as {_ident(n)}"
        for n in fields
        if n in _TEXT or n in _NULLABLE or n == "arm"
    ]
    key = ("request_id",) if impressions else FEEDBACK_KEY
    keys = ", ".join(_ident(c) for c in key)
    repeat = (
        "duplicate request_id (counted once)"
        if impressions
        else f"duplicate event ({', '.join(FEEDBACK_KEY)}) counted once"
    )
    fast, slow_lines, fast_rows = "", LINES, ""
    if impressions:  # the API's own lines skip the two generic parses below
        fast = f"""fast as materialized ({_fast_impressions_sql()}), """
        slow_lines = "fast where not fast"
        fast_rows = """
        union all by name
        select seq, $1::timestamp as partition_hour, s.* exclude ("time"),
               try_cast(s.time as timestamp) as "time", source, line, null::varchar as reason
        from fast where fast"""
    judged = f"""
    with {fast}parsed as (  -- the root's and the fields' types in one parse: null when not JSON
        select seq, source, line, text, try(json_type(text, {root_paths})) as types
        from {slow_lines}
    ), typed as (
        select *, types is not null as valid, types[1] as root, types[2:] as t,
               case when types[1] = 'OBJECT' then json_extract_string(text, {paths}) end as v
        from parsed
    ), timed as (
        select *, {"".join(x + ", " for x in lists)}
               case when t[{at["time"]}] <> 'VARCHAR' then null
                    when suffix({time}, 'Z') then try_cast({time} as timestamp)  -- the API's
                    when regexp_matches({time}, '{_ZONED}')
                    then timezone('UTC', try_cast({time} as timestamptz))
                    else try_cast({time} as timestamp) end as parsed_time
        from typed
    ), judged as materialized (  -- the JSON work, once
        select seq, $1::timestamp as partition_hour, {", ".join(columns)},
               parsed_time as "time", {"".join(e + ", " for e in extra)}source, line,
               case {" ".join(branches)} end as reason
        from timed{fast_rows}
    ), repeated as (  -- keys accepted more than once: lines after the first are repeats
        select {keys}, min(seq) as first from judged where reason is null
        group by all having count(*) > 1
    ), deduped as (
        select j.* exclude (reason),
               coalesce(j.reason, case when j.seq > r.first then {_quote(repeat)} end) as reason
        from judged j left join repeated r using ({keys})
    )"""
    return judged + " select * from deduped"


def _served_sql() -> str:
    """The judged feedback lines (``_LINE_JUDGED``) joined with what served them
    (``_SERVED``) and with the same events stored for an earlier hour (from $1, the first
    hour of the impressions answered: an event is stored no earlier than its impression, so
    older hours need not be read; to $2, the hour's start)."""
    return f"""
    with earlier as (
        select distinct request_id, track_id, event from {FEEDBACK_TABLE}
        where partition_hour >= $1 and partition_hour < $2
          and request_id in (select request_id from {_SERVED})
    )
    select d.* exclude (reason),
           nullif(coalesce(list_position(s.ranked, d.track_id), 0), 0) as rank,
           s.arm, s.model_version, s.strategy,
           coalesce(d.reason, case
               when s.request_id is null then 'request_id ' || d.request_id
                   || ' is not among the impressions of this hour or the previous 24 hours'
               when coalesce(list_position(s.ranked, d.track_id), 0) = 0 then 'track '
                   || d.track_id || ' was not in that request''s ranked list'
               when e.request_id is not null then 'duplicate event (request_id, track_id, '
                   || 'event) already stored in an earlier hour'
           end) as reason
    from {_LINE_JUDGED} d
    left join {_SERVED} s on d.reason is null and s.request_id = d.request_id
    left join earlier e on d.reason is null and e.request_id = d.request_id
        and e.track_id = d.track_id and e.event = d.event
    """


def _ident(name: str) -> str:
    return f'"{name}"'


def judge_lines(conn: duckdb.DuckDBPyConnection, kind: str, start: datetime, end: datetime) -> None:
    """``JUDGED`` from ``LINES``: every line's stored columns (``seq``: its key in ``LINES``)
    and its reason, null when accepted. Feedback is also judged against what was served: the
    request among the impressions stored for the hour or the 24 before (the earliest if
    repeated) gives ``rank``, ``arm``, ``model_version`` and ``strategy``; rejected when the
    request was not served, the track was not in its list, or the same event is stored for an
    earlier hour (feedback may come a day late)."""
    assert kind in (IMPRESSIONS_DIR, FEEDBACK_DIR), kind
    ensure_tables(conn)
    if kind == IMPRESSIONS_DIR:
        conn.execute(f"create or replace temp table {JUDGED} as {_judge_sql(kind)}", [start, end])
        return
    conn.execute(f"create or replace temp table {_LINE_JUDGED} as {_judge_sql(kind)}", [start, end])
    first = stage_served(  # the impression each request answers: the earliest if stored twice
        conn,
        _SERVED,
        f"select request_id from {_LINE_JUDGED} where reason is null",
        start - FEEDBACK_WINDOW,
        end,
        ("ranked", "arm", "model_version", "strategy"),
    )
    conn.execute(
        f"create or replace temp table {JUDGED} as {_served_sql()}", [first or start, start]
    )
    conn.execute(f"drop table {_LINE_JUDGED}; drop table {_SERVED}")


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
    stage_lines(conn, landing, kind, start, decode_here=decode_here)
    judge_lines(conn, kind, start, end)
    impressions, judged = kind == IMPRESSIONS_DIR, JUDGED
    rows, rejects = (
        (IMPRESSIONS_TABLE, IMPRESSIONS_REJECTS_TABLE)
        if impressions
        else (FEEDBACK_TABLE, FEEDBACK_REJECTS_TABLE)
    )
    track = "null" if impressions else "j.track_id"
    by = "arm" if impressions else "event"
    reasons = conn.execute(
        f"select reason, count(*) n from {judged} where reason is not null "
        "group by reason order by n desc, reason"
    ).fetchall()
    counts = dict(
        conn.execute(
            f"select {by}, count(*) from {judged} where reason is null group by {by} order by 1"
        ).fetchall()
    )
    # the rejected lines' text read again only when there are some (the files are read again)
    text = f"join {LINES} l using (seq)" if reasons else "cross join (select null as text) l"
    replace_hour_from(
        conn,
        {
            rows: f"select * exclude (seq, reason) from {judged} where reason is null",
            rejects: f"select j.source, j.line as row_number, {track} as track_id, j.reason, "
            f"{_ROW_JSON} as row_json, j.partition_hour from {judged} j {text} "
            "where j.reason is not null",
        },
        start,
        end,
    )
    _drop_lines(conn)
    conn.execute(f"drop table if exists {JUDGED}")
    return HourSummary(
        rows=sum(counts.values()),
        rejected=sum(n for _, n in reasons),
        reasons=tuple(r for r, _ in reasons),
        counts=counts,
    )
