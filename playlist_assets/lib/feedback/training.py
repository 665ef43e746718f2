"""Listeners' reactions as co-occurrence evidence at retrain: feedback pairs.

A request's seeds are the listener's playlist so far (its *context*); a song they added or liked
from the answer belongs with those seeds, a song they skipped or disliked does not. Each
(context, song) gets a weight from the reactions to it there, ``(accepted - rejected) /
(accepted + rejected + prior)``: a rate in (-1, 1), so however many times listeners answer in
one context, it moves a pair by less than one real playlist would. Each seed of the context
then gets that weight with the song (``TrackCooccurrence.with_feedback``): evidence only where
a listener said something, and never between the seeds themselves. (Earlier builds added each
request as a pseudo-playlist of its seeds plus its accepted songs: that repeated the listener's
own playlist once per request, and it only reinforced the songs already in the first places,
which listeners had seen; on the simulator's held-out listeners it lowered acceptance.)

Bounds, so one heavy listener cannot dominate:

- ``max_per_user``: a listener's most recent requests only (anonymous requests are one listener);
- ``max_share``: the most recent contexts only, at most this share of the real training playlists;
- the rate above: a context counts at most about one playlist for each of its pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.feedback.contract import ACCEPTING_EVENTS, REJECTING_EVENTS
from playlist_assets.lib.feedback.store import FEEDBACK_TABLE, IMPRESSIONS_TABLE, table_exists

ANONYMOUS = "(anonymous)"
PER_SONG = ["seeds", "track_id", "accepted", "shown", "time"]
PAIRS = ["item_id", "track_id", "weight", "length_weighted"]


@dataclass(frozen=True)
class FeedbackTraining:
    """How much of the listeners' feedback a retrain takes in."""

    days: int = 30  # reactions of the last days
    max_per_user: int = 20
    max_share: float = 0.2
    prior: float = 1.0  # reactions a song needs in one context before its weight nears +-1


def read_reactions(conn: Any, policy: FeedbackTraining = FeedbackTraining()) -> pd.DataFrame:
    """``per_song`` of the accepting and rejecting events of the last ``policy.days`` of stored
    feedback (counted back from the newest event, so a backfill or a paused service still has
    its window), each with its request's seeds and listener."""
    if not (table_exists(conn, FEEDBACK_TABLE) and table_exists(conn, IMPRESSIONS_TABLE)):
        return pd.DataFrame(columns=PER_SONG)
    accepting = ", ".join(f"'{e}'" for e in sorted(ACCEPTING_EVENTS))
    rejecting = ", ".join(f"'{e}'" for e in sorted(REJECTING_EVENTS))
    events = f"""
        select f.request_id, f.track_id, coalesce(i.user, f.user) as user, f.time, i.seeds,
               f.event in ({accepting}) as accepted
        from {FEEDBACK_TABLE} f join {IMPRESSIONS_TABLE} i using (request_id)
        where f.event in ({accepting}, {rejecting})
          and f.time >= (select max(time) from {FEEDBACK_TABLE}) - to_days({int(policy.days)})
    """
    return per_song(conn, events, policy.max_per_user)


def per_song(conn: Any, events: str, max_per_user: int) -> pd.DataFrame:
    """Reactions per (seed list, song shown) of the ``events`` query (columns request_id,
    track_id, user, time, seeds, accepted),
    each listener's latest ``max_per_user`` requests only, one reaction per request and song
    ("liked" after "added" is one acceptance): ``PER_SONG``. In DuckDB, so a retrain reads one
    row per seed list and song, not the month's events."""
    return conn.execute(
        f"""
        with events as ({events}),
        requests as (
            select request_id, row_number() over (
                partition by coalesce(any_value(user), '{ANONYMOUS}')
                order by max(time) desc, request_id
            ) as recency
            from events group by request_id
        ),
        per_request as (
            select e.seeds, e.request_id, e.track_id, bool_or(e.accepted) as accepted,
                   max(e.time) as time
            from events e join requests r using (request_id)
            where r.recency <= ?
            group by e.seeds, e.request_id, e.track_id
        )
        select seeds, track_id, sum(accepted::INTEGER) as accepted, count(*) as shown,
               max(time) as time
        from per_request group by seeds, track_id order by time desc, track_id
        """,
        [max_per_user],
    ).fetch_df()


def feedback_pairs(
    songs: pd.DataFrame, n_real: int, policy: FeedbackTraining = FeedbackTraining()
) -> tuple[pd.DataFrame, int]:
    """(seed, song) weights from the reactions per seed list and song (``per_song``; see the
    module docstring) and how many seed lists they come from."""
    if songs.empty:
        return pd.DataFrame(columns=PAIRS), 0
    per_song = songs.assign(context=songs["seeds"].map(lambda s: "\n".join(dict.fromkeys(s))))
    recent = per_song.groupby("context")["time"].max().sort_values(ascending=False)
    contexts = recent.index[: max(0, int(policy.max_share * n_real))]
    per_song = per_song[per_song["context"].isin(contexts)].reset_index(drop=True)
    rejected = per_song["shown"] - per_song["accepted"]
    weight = (per_song["accepted"] - rejected) / (per_song["shown"] + policy.prior)
    seeds = per_song["context"].str.split("\n")
    pairs = pd.DataFrame(
        {"item_id": seeds, "track_id": per_song["track_id"], "weight": weight.astype(float)}
    ).explode("item_id")
    # as ``length_weighted`` counts a playlist: over sqrt(its length), the seeds and the song
    length = seeds.str.len().reindex(pairs.index).to_numpy() + 1
    pairs["length_weighted"] = pairs["weight"] / np.sqrt(length)
    pairs = pairs[pairs["item_id"] != pairs["track_id"]]
    summed = pairs.groupby(["item_id", "track_id"], sort=True)[["weight", "length_weighted"]].sum()
    return summed.reset_index()[PAIRS], len(contexts)
