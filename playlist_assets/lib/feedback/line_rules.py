"""The rules an hour's landing lines are judged by, as DuckDB SQL (``lines`` runs them).

Each line gets at most one reason, the first rule it breaks (see ``lines``); impressions written
exactly as the API writes them are judged from one typed parse (``fast_impressions_sql``), any
other line by the generic path that names its reason. Text builders only: no connection here.
"""

from __future__ import annotations

import json

from playlist_assets.lib.feedback.contract import (
    ARMS,
    EVENTS,
    FEEDBACK_FIELDS,
    FEEDBACK_KEY,
    IMPRESSION_FIELDS,
    IMPRESSIONS_DIR,
)
from playlist_assets.lib.feedback.store import EARLIER, SERVED

LINES = "_landing_lines"  # temp view (or table): seq, source, line, text
JUDGED = "_judged_lines"  # temp table: the stored columns (file and line: seq), reason
LINE_JUDGED = "_judged_feedback_lines"  # feedback's lines before what served them
REPEATED = "_repeated_events"  # temp table: feedback's keys accepted on more than one line
_NULLABLE = frozenset({"user", "key_id"})  # null or a non-empty string
_TEXT = frozenset({"request_id", "model_version", "strategy", "track_id", "event"})
_LISTS = ("seeds", "ranked")  # lists of track ids (impressions)
# The reasons of a line repeating an accepted one of the hour (the first line counts).
_REPEATED_REQUEST = "duplicate request_id (counted once)"
_REPEATED_EVENT = f"duplicate event ({', '.join(FEEDBACK_KEY)}) counted once"
# ISO 8601 with a zone (Z or an offset): converted to UTC; without one the time is UTC already.
_ZONED = r"\d:\d\d(:\d\d(\.\d*)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fill(sql: str, **parts: str) -> str:
    for name, value in parts.items():
        sql = sql.replace(f"@{name}", value)
    return sql


# What the API writes for an impression (``contract.IMPRESSION_FIELDS``, in order): parsed to
# these types in one pass by ``json_transform`` (which converts rather than rejects a value of
# another type, so its result is kept only when it writes back as exactly the line).
_IMPRESSION_TYPES = {
    **{name: "VARCHAR" for name in IMPRESSION_FIELDS},
    "k": "BIGINT",
    **{name: ["VARCHAR"] for name in _LISTS},
}


def _fast_impressions_sql(guarded: bool = True) -> str:
    """Each line of ``LINES`` (seq, text), ``s`` (its fields typed), and ``fast``: true when the
    line is exactly ``s`` as compact JSON (so every field is present, once, of its type; numbers
    are integers; list elements are strings or null) and every value passes the rules the
    slower judging applies (non-empty ids, a known arm, k > 0, lists of non-empty ids, a UTC
    time with a Z inside the hour). Any other line (a batch file's spaces, a bad value) is
    judged by the generic path, which names its reason. Parameters: the hour's start and end.

    Not ``guarded``, the typed parse runs without ``try``: a line that is not JSON fails the
    statement, and the caller judges the hour again guarded. ``try`` costs ~0.04-0.05 CPU-s an
    hour of 72,000 lines even when every line parses (benchmarks/results/feedback.md)."""
    struct = quote(json.dumps(_IMPRESSION_TYPES, separators=(",", ":")))
    parse = f"json_transform(text, {struct})"
    arms = ", ".join(quote(a) for a in ARMS)
    lists = " and ".join(
        f"not list_contains(s.{n}, '') and list_count(s.{n}) = len(s.{n})" for n in _LISTS
    )
    return f"""
        select seq, text, s, coalesce(
            to_json(s)::varchar = text and s.request_id <> '' and s.model_version <> ''
            and s.strategy <> '' and coalesce(s.user <> '', true)
            and coalesce(s.key_id <> '', true) and s.arm in ({arms}) and s.k > 0 and {lists}
            and suffix(s.time, 'Z') and try_cast(s.time as timestamp) >= $1
            and try_cast(s.time as timestamp) < $2, false) as fast
        from (select seq, text, {f"try({parse})" if guarded else parse} as s from {LINES})"""


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


def _ident(name: str) -> str:
    return f'"{name}"'


def judge_sql(kind: str, *, guarded: bool = True) -> str:
    """The query judging ``LINES`` of ``kind``; parameters: the hour's start and end. One
    function because it is one SQL statement whose CASE lists the rules in the order a line is
    judged (the first broken rule is its reason). Not ``guarded`` (impressions): it fails on a
    line that is not JSON instead (``_fast_impressions_sql``)."""
    impressions = kind == IMPRESSIONS_DIR
    fields = IMPRESSION_FIELDS if impressions else FEEDBACK_FIELDS
    at = {name: i for i, name in enumerate(fields, start=1)}
    paths = "[" + ", ".join(quote(f"$.{f}") for f in fields) + "]"
    root_paths = "['$', " + paths[1:]
    time = f"v[{at['time']}]"
    branches = [
        "when not valid then 'not JSON'",
        "when root <> 'OBJECT' then 'not a JSON object'",
        *_field_reasons(fields),
    ]
    lists: list[str] = []  # the lists' element types and values, computed once
    if impressions:
        arms = ", ".join(quote(a) for a in ARMS)
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
                f"when t[{at[name]}] <> 'ARRAY' or list_contains(slow_{name}, '') or not ("
                f"{_strings_written_as('slow_' + name, raw)} or coalesce(list_bool_and(list_transform("
                f"json_type({raw}, '$[*]'), lambda x: x = 'VARCHAR')), true)) "
                f"then 'field {name} is not a list of track ids'"
            )
            lists.append(
                f"case when t[{at[name]}] = 'ARRAY' "
                f"then json_extract_string({raw}, '$[*]') end as slow_{name}"
            )
    else:
        events = ", ".join(quote(e) for e in EVENTS)
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
    columns = {
        n: f"case when t[{at[n]}] = 'VARCHAR' then v[{at[n]}] end"
        for n in fields
        if n in _TEXT or n in _NULLABLE or n == "arm"
    }
    columns["time"] = "parsed_time"
    source, slow = LINES, "true"
    if impressions:  # the API's own lines skip the two generic parses below (one pass: the
        # generic path's functions run only on the other lines, inside CASEs)
        source, slow = f"({_fast_impressions_sql(guarded)})", "not fast"
        columns = {n: f"case when fast then s.{_ident(n)} else {e} end" for n, e in columns.items()}
        columns["time"] = "case when fast then try_cast(s.time as timestamp) else parsed_time end"
        columns |= {
            "k": f"case when fast then s.k else try_cast(v[{at['k']}] as bigint) end",
            **{n: f"case when fast then s.{n} else slow_{n} end" for n in _LISTS},
        }
    judged = f"""
    with parsed as (  -- the root's and the fields' types in one parse: null when not JSON
        select *, case when {slow} then try(json_type(text, {root_paths})) end as types
        from {source}
    ), typed as (
        select *, types is not null as valid, types[1] as root, types[2:] as t,
               case when types[1] = 'OBJECT' then json_extract_string(text, {paths}) end as v
        from parsed
    ), timed as (
        select *, {"".join(x + ", " for x in lists)}
               case when not ({slow}) or t[{at["time"]}] <> 'VARCHAR' then null
                    when suffix({time}, 'Z') then try_cast({time} as timestamp)  -- the API's
                    when regexp_matches({time}, '{_ZONED}')
                    then timezone('UTC', try_cast({time} as timestamptz))
                    else try_cast({time} as timestamp) end as parsed_time
        from typed
    ), judged as (  -- the JSON work, once
        select seq, $1::timestamp as partition_hour,
               {", ".join(f"{e} as {_ident(n)}" for n, e in columns.items())},
               case when {slow} then case {" ".join(branches)} end end as reason
        from timed
    )"""
    # Repeats are judged afterwards: impressions' by ``repeated_requests_sql``, feedback's with
    # what served it (``served_sql``).
    return judged + " select * from judged"


def repeated_requests_sql(judged: str) -> tuple[str, str]:
    """Two statements on the judged impressions (the table ``judged``): how many accepted lines
    repeat the request of an accepted line before them, and the update that gives those lines
    their reason. The update runs only when there are some (a client's bug), so a clean hour's
    judged lines are copied once, not once more to name the repeats."""
    repeated = _repeated_sql(judged, ("request_id",))
    found = f"""select count(*) from {judged} j join ({repeated}) r using (request_id)
        where j.reason is null and j.seq > r.first"""
    mark = f"""update {judged} j set reason = {quote(_REPEATED_REQUEST)} from ({repeated}) r
        where j.request_id = r.request_id and j.reason is null and j.seq > r.first"""
    return found, mark


def repeated_events_sql() -> str:
    """The query of ``REPEATED``: the events (``FEEDBACK_KEY``) of ``LINE_JUDGED`` accepted on
    more than one line, with the first such line."""
    return _repeated_sql(LINE_JUDGED, FEEDBACK_KEY)


def keys_once_sql() -> str:
    """The query telling that no event (``FEEDBACK_KEY``) of ``LINE_JUDGED`` is accepted on two
    lines, so ``REPEATED`` would be empty: as many distinct hashes of the keys as accepted lines
    (fewer: a repeat, or two keys with one hash, which the grouping then tells apart)."""
    keys = ", ".join(_ident(c) for c in FEEDBACK_KEY)
    return f"""select count(*) = count(distinct hash({keys})) from {LINE_JUDGED}
        where reason is null"""


def _repeated_sql(judged: str, key: tuple[str, ...]) -> str:
    """The keys of ``judged`` accepted on more than one line, with the first such line (``first``,
    its ``seq``): the lines after it are repeats."""
    keys = ", ".join(_ident(c) for c in key)
    return f"""select {keys}, min(seq) as first from {judged} where reason is null
        group by all having count(*) > 1"""


def served_sql() -> str:
    """The judged feedback lines (``LINE_JUDGED``) with their reason completed: a repeat of a line
    earlier in the hour (``REPEATED``), then what served them (``SERVED``: not served, the track
    not listed) and the same event stored for an earlier hour (``EARLIER``). Repeats are found
    apart from ``judge_sql``, which would otherwise copy the hour's lines once more."""
    same = " and ".join(f"r.{c} = d.{c}" for c in FEEDBACK_KEY)
    return f"""
    select d.* exclude (reason),
           nullif(coalesce(list_position(s.ranked, d.track_id), 0), 0) as rank,
           s.arm, s.model_version, s.strategy,
           coalesce(d.reason, case
               when d.seq > r.first then {quote(_REPEATED_EVENT)}
               when s.request_id is null then 'request_id ' || d.request_id
                   || ' is not among the impressions of this hour or the previous 24 hours'
               when coalesce(list_position(s.ranked, d.track_id), 0) = 0 then 'track '
                   || d.track_id || ' was not in that request''s ranked list'
               when e.request_id is not null then 'duplicate event (request_id, track_id, '
                   || 'event) already stored in an earlier hour'
           end) as reason
    from {LINE_JUDGED} d
    left join {REPEATED} r on {same}
    left join {SERVED} s on d.reason is null and s.request_id = d.request_id
    left join {EARLIER} e on d.reason is null and e.request_id = d.request_id
        and e.track_id = d.track_id and e.event = d.event
    """
