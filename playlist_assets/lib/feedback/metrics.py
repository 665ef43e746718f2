"""Online metrics: what listeners did with what each model version, strategy and arm served.

Per impression (one served list) the outcomes are yes/no, so the rates are binomial proportions
with Wilson score intervals, and they add up over hours from their counts (``rates`` recomputes
them for any window). The arms are compared on acceptance with Newcombe's hybrid score interval
for a difference of two proportions (built from the two Wilson intervals); the difference is
``significant`` when that interval leaves out zero.

- ``acceptance_rate``: impressions with at least one accepting event (added or liked);
- ``add_rate_at_10``: impressions with an ``added`` song among their first 10;
- ``skip_rate``: skipped events among all feedback events;
- ``fresh_share``: served songs that were new (landed within the ``new`` window).
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from playlist_assets.lib.feedback.contract import ACCEPTING_EVENTS, CHALLENGER, CHAMPION

Z_95 = 1.959963984540054
# Listeners each arm needs before the clustered interval is trusted: with fewer, the spread of
# listeners' own acceptance is estimated from too few of them (skewed tastes look narrow).
MIN_LISTENERS = 30
ARMS_ORDER = [CHAMPION, CHALLENGER]
GROUP = ["model_version", "strategy", "arm"]
# Counts that add up over hours; distinct listeners (``users``, ``feedback_users``) do not.
ADDITIVE_COLUMNS = [
    "impressions",
    "accepted_impressions",
    "added_at_10",
    "events",
    "skips",
    "served",
    "fresh_served",
]
COUNT_COLUMNS = [*ADDITIVE_COLUMNS, "users", "feedback_users"]
DIFFERENCE_COLUMNS = [
    "strategy",
    "champion_version",
    "challenger_version",
    "champion_impressions",
    "challenger_impressions",
    "champion_acceptance",
    "challenger_acceptance",
    "difference",
    "difference_low",
    "difference_high",
    "significant",
    "verdict",
]
# rate column -> (successes, trials)
RATES = {
    "acceptance_rate": ("accepted_impressions", "impressions"),
    "add_rate_at_10": ("added_at_10", "impressions"),
    "skip_rate": ("skips", "events"),
    "fresh_share": ("fresh_served", "served"),
}


def wilson(successes: float, trials: float, z: float = Z_95) -> tuple[float, float, float]:
    """(rate, low, high) of a binomial proportion; NaNs without trials."""
    if trials <= 0:
        return math.nan, math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return p, max(0.0, centre - half), min(1.0, centre + half)


def rates(counts: pd.DataFrame) -> pd.DataFrame:
    """``counts`` plus each rate of ``RATES`` with ``<rate>_low`` / ``<rate>_high``."""
    out = counts.copy()
    for name, (hits, trials) in RATES.items():
        triples = [wilson(h, t) for h, t in zip(out[hits], out[trials], strict=True)]
        values = np.array(triples, dtype=float).reshape(-1, 3)
        out[name], out[f"{name}_low"], out[f"{name}_high"] = values.T
    return out


def reactions_sql(feedback: str) -> str:
    """Per request, listener, model version, strategy and arm of ``feedback`` (a table name or
    subquery with request_id, event, rank, user, model_version, strategy, arm): ``accepted`` (an
    accepting event), ``added_at_10``, its ``events`` and ``skips``. ``counts_sql`` and
    ``user_counts_sql`` count from it, so an hour's events are read and grouped once."""
    accepting = ", ".join(f"'{e}'" for e in sorted(ACCEPTING_EVENTS))
    return f"""
    select request_id, "user", {", ".join(GROUP)},
           bool_or(event in ({accepting})) as accepted,
           bool_or(event = 'added' and rank <= 10) as added_at_10,
           count(*) as events, count(*) filter (event = 'skipped') as skips
    from {feedback} group by all
    """


def counts_sql(impressions: str, reactions: str) -> str:
    """The query of ``online_counts`` over two relations (table names or subqueries):
    ``impressions`` with request_id, user, model_version, strategy, arm, served, fresh;
    ``reactions``: the rows of ``reactions_sql``."""
    group = ", ".join(GROUP)
    same = " and ".join(f"i.{c} is not distinct from f.{c}" for c in GROUP)
    pick = ", ".join(f"coalesce(i.{c}, f.{c}) as {c}" for c in GROUP)
    return f"""
    with by_imp as (
        select {group}, count(distinct request_id) as impressions,
               coalesce(sum(served), 0) as served, coalesce(sum(fresh), 0) as fresh_served,
               count(distinct "user") as users
        from {impressions} group by all
    ), by_fb as (
        select {group},
               count(distinct request_id) filter (accepted) as accepted_impressions,
               count(distinct request_id) filter (added_at_10) as added_at_10,
               sum(events) as events, sum(skips) as skips,
               count(distinct "user") as feedback_users
        from {reactions} group by all
    )
    select {pick}, {", ".join(f"coalesce({c}, 0)::BIGINT as {c}" for c in COUNT_COLUMNS)}
    from by_imp i full outer join by_fb f on {same}
    order by {group}
    """


def user_counts_sql(impressions: str, reactions: str) -> str:
    """The query of ``user_counts`` over the relations of ``counts_sql``."""
    return f"""
    with hit as (select distinct request_id from {reactions} where accepted)
    select {", ".join(GROUP)}, coalesce(i."user", 'request:' || i.request_id) as "user",
           count(*)::BIGINT as impressions,
           count(h.request_id)::BIGINT as accepted_impressions
    from {impressions} i left join hit h using (request_id)
    group by all order by all
    """


def _in_duckdb(query: str, impressions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    conn = duckdb.connect()
    conn.register("_impressions", impressions)
    conn.register("_feedback", feedback)
    return conn.execute(query).fetch_df()


def online_counts(
    impressions: pd.DataFrame, feedback: pd.DataFrame, fresh: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Counts per model version, strategy and arm (``COUNT_COLUMNS``), from frames
    (``counts_sql``; the hourly asset runs it in the warehouse).

    ``impressions``: request_id, user, model_version, strategy, arm (and ``ranked`` when ``fresh``
    is None); ``feedback``: request_id, event, rank, user (feedback of earlier hours' impressions
    counts for the hour it arrived, under its impression's version and arm); ``fresh``:
    request_id, served, fresh (``store.fresh_served``).
    """
    imp = impressions[["request_id", "user", *GROUP]].copy()
    if fresh is not None and len(fresh):
        imp = imp.merge(fresh[["request_id", "served", "fresh"]], on="request_id", how="left")
    else:
        ranked = impressions["ranked"] if "ranked" in impressions else pd.Series(dtype=object)
        imp["served"] = ranked.map(len).to_numpy() if len(ranked) else 0
        imp["fresh"] = 0
    imp[["served", "fresh"]] = imp[["served", "fresh"]].fillna(0).astype("int64")
    fb = feedback.loc[:, ["request_id", "event", "rank", "user", *GROUP]]
    return _in_duckdb(counts_sql("_impressions", f"({reactions_sql('_feedback')})"), imp, fb)


def online_metrics(
    impressions: pd.DataFrame,
    feedback: pd.DataFrame,
    fresh: pd.DataFrame | None = None,
    hour: datetime | None = None,
) -> pd.DataFrame:
    """Counts and rates with 95 % Wilson intervals per model version × strategy × arm."""
    out = rates(online_counts(impressions, feedback, fresh))
    if hour is not None:
        out.insert(0, "partition_hour", pd.Timestamp(hour))
    return out


def newcombe(
    hits_a: float, n_a: float, hits_b: float, n_b: float, z: float = Z_95
) -> tuple[float, float, float]:
    """(b - a, low, high): the difference of two proportions with Newcombe's hybrid interval."""
    pa, la, ua = wilson(hits_a, n_a, z)
    pb, lb, ub = wilson(hits_b, n_b, z)
    if math.isnan(pa) or math.isnan(pb):
        return math.nan, math.nan, math.nan
    diff = pb - pa
    return (
        diff,
        diff - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2),
        diff + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2),
    )


def user_counts(impressions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Impressions and accepted impressions per strategy, arm and listener (an anonymous
    impression is its own listener): the units of the clustered A/B interval
    (``user_counts_sql``)."""
    imp = impressions[["request_id", "user", *GROUP]]
    query = user_counts_sql("_impressions", f"({reactions_sql('_feedback')})")
    return _in_duckdb(query, imp, feedback)


def clustered_rate(
    impressions: np.ndarray | pd.Series, accepted: np.ndarray | pd.Series
) -> tuple[float, float]:
    """(rate, variance) of sum(accepted) / sum(impressions) with each listener one cluster
    (one entry per listener): the ratio estimator's variance (delta method, n/(n-1)
    corrected); NaNs with fewer than 2 listeners or no impressions. Differences of per-listener
    pairs (the same listeners under two recommenders) go through it too: ``accepted`` is then
    the difference of their accepted impressions."""
    shown_per = np.asarray(impressions, dtype=float)
    hits = np.asarray(accepted, dtype=float)
    n, shown = len(shown_per), float(shown_per.sum())
    if n < 2 or shown == 0:
        return math.nan, math.nan
    rate = float(hits.sum()) / shown
    residual = hits - rate * shown_per
    return rate, float((residual**2).sum()) / shown**2 * n / (n - 1)


def clustered_difference(users: pd.DataFrame, z: float = Z_95) -> tuple[float, float, float]:
    """(challenger - champion acceptance, low, high) with listeners as clusters: each arm's
    rate and variance by ``clustered_rate``; NaNs when an arm has fewer than 2 listeners."""
    parts = []
    for arm in (CHAMPION, CHALLENGER):
        rows = users[users["arm"] == arm].groupby("user")[COUNT_COLUMNS[:2]].sum()
        rate, variance = clustered_rate(rows["impressions"], rows["accepted_impressions"])
        if math.isnan(rate):
            return math.nan, math.nan, math.nan
        parts.append((rate, variance))
    (ra, va), (rb, vb) = parts
    half = z * math.sqrt(va + vb)
    return rb - ra, rb - ra - half, rb - ra + half


def arm_difference(
    counts: pd.DataFrame, hour: datetime | None = None, users: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per strategy: challenger minus champion acceptance, its interval and verdict.

    ``counts``: rows of ``online_counts`` (any number of hours; they are summed). ``users``:
    rows of ``user_counts`` of the same hours; with them the interval treats each listener as
    one unit (arms are assigned per listener, and one listener's impressions are alike), else
    Newcombe's interval treats impressions as independent. ``verdict``:
    ``challenger better``, ``challenger worse``, ``no significant difference``, or
    ``one arm without impressions``.
    """
    summed = counts.groupby(["strategy", "arm"])[COUNT_COLUMNS[:2]].sum()
    versions = counts.groupby(["strategy", "arm"])["model_version"].agg(
        lambda v: ",".join(sorted({str(x) for x in v}))
    )
    rows = []
    for strategy in sorted(counts["strategy"].unique()):
        a = summed.loc[strategy].reindex([CHAMPION, CHALLENGER]).fillna(0)
        hits_a, n_a = a.loc[CHAMPION, "accepted_impressions"], a.loc[CHAMPION, "impressions"]
        hits_b, n_b = a.loc[CHALLENGER, "accepted_impressions"], a.loc[CHALLENGER, "impressions"]
        diff, low, high = newcombe(hits_a, n_a, hits_b, n_b)
        few = None
        if users is not None and not math.isnan(diff):
            mine = users[users["strategy"] == strategy]
            diff, low, high = clustered_difference(mine)
            listeners = mine.groupby("arm")["user"].nunique().reindex(ARMS_ORDER).fillna(0)
            few = int(listeners.min()) if listeners.min() < MIN_LISTENERS else None
        significant = bool(few is None and not math.isnan(low) and (low > 0 or high < 0))
        if math.isnan(diff):
            verdict = "one arm without impressions"
        elif few is not None:
            verdict = f"too few listeners to judge ({few} < {MIN_LISTENERS} on an arm)"
        elif not significant:
            verdict = "no significant difference"
        else:
            verdict = "challenger better" if low > 0 else "challenger worse"
        rows.append(
            {
                "strategy": strategy,
                "champion_version": versions.get((strategy, CHAMPION), ""),
                "challenger_version": versions.get((strategy, CHALLENGER), ""),
                "champion_impressions": int(n_a),
                "challenger_impressions": int(n_b),
                "champion_acceptance": hits_a / n_a if n_a else math.nan,
                "challenger_acceptance": hits_b / n_b if n_b else math.nan,
                "difference": diff,
                "difference_low": low,
                "difference_high": high,
                "significant": significant,
                "verdict": verdict,
            }
        )
    out = pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)
    if hour is not None:
        out.insert(0, "partition_hour", pd.Timestamp(hour))
    return out
