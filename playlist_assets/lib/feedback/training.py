"""Listeners' accepted songs as co-occurrence evidence at retrain: feedback pseudo-playlists.

A request's seeds are the listener's playlist so far; a song they added (or liked) from its
answer belongs with them. Each such request becomes one extra *training* playlist: its seeds
plus the songs accepted from it. Co-occurrence counts playlists, so a pseudo-playlist weighs what
one real playlist weighs (``TrackCooccurrence`` has no per-playlist weights); what keeps a heavy
listener from dominating are the bounds:

- ``max_per_user``: at most this many pseudo-playlists per listener per retrain, the most
  recent requests first (anonymous requests are one listener);
- ``max_share``: all of them together at most this share of the real training playlists.

Pseudo-playlists get negative pids and are always in the training split: they never become
validation or held-out cases, so the offline evaluation stays on real playlists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from playlist_assets.lib.feedback.contract import ACCEPTING_EVENTS
from playlist_assets.lib.feedback.store import FEEDBACK_TABLE, IMPRESSIONS_TABLE, table_exists

PSEUDO_NAME = "listeners' feedback"
ANONYMOUS = "(anonymous)"


@dataclass(frozen=True)
class FeedbackTraining:
    """How much of the listeners' feedback a retrain takes in."""

    days: int = 30  # accepted events of the last days
    max_per_user: int = 20
    max_share: float = 0.2


def read_accepted(conn: Any, days: int = FeedbackTraining.days) -> pd.DataFrame:
    """Accepted events (``ACCEPTING_EVENTS``) of the last ``days`` of stored feedback (counted
    back from the newest event, so a backfill or a paused service still has its window), with
    their request's seeds and listener: request_id, track_id, user, time, seeds."""
    if not (table_exists(conn, FEEDBACK_TABLE) and table_exists(conn, IMPRESSIONS_TABLE)):
        return pd.DataFrame(columns=["request_id", "track_id", "user", "time", "seeds"])
    events = ", ".join(f"'{e}'" for e in sorted(ACCEPTING_EVENTS))
    return conn.execute(
        f"""
        select f.request_id, f.track_id, coalesce(i.user, f.user) as user, f.time, i.seeds
        from {FEEDBACK_TABLE} f join {IMPRESSIONS_TABLE} i using (request_id)
        where f.event in ({events})
          and f.time >= (select max(time) from {FEEDBACK_TABLE}) - to_days(?::INTEGER)
        order by f.time, f.request_id, f.track_id
        """,
        [days],
    ).fetch_df()


def pseudo_playlists(
    accepted: pd.DataFrame,
    songs: pd.DataFrame,
    n_real: int,
    policy: FeedbackTraining = FeedbackTraining(),
) -> pd.DataFrame:
    """One playlist (playlists' columns) per request with accepted songs: seeds then the
    accepted songs, bounded per listener and in total (see the module docstring)."""
    if accepted.empty:
        return pd.DataFrame(columns=["pid", "name", "pos", "track_uri", "track_id", "artist_name"])
    per_request = (
        accepted.assign(user=accepted["user"].fillna(ANONYMOUS))
        .groupby("request_id", sort=False)
        .agg(
            user=("user", "first"),
            time=("time", "max"),
            seeds=("seeds", "first"),
            added=("track_id", lambda t: list(dict.fromkeys(t))),
        )
        .sort_values("time", ascending=False)
    )
    per_request = per_request[per_request.groupby("user").cumcount() < policy.max_per_user]
    per_request = per_request.head(max(0, int(policy.max_share * n_real)))
    rows = []
    for pid, (request_id, r) in enumerate(per_request.iterrows(), start=1):
        tracks = list(dict.fromkeys([*list(r["seeds"]), *r["added"]]))
        rows.extend((-pid, request_id, pos, track) for pos, track in enumerate(tracks))
    out = pd.DataFrame(rows, columns=["pid", "request_id", "pos", "track_id"])
    artists = songs.drop_duplicates("track_id").set_index("track_id")["artists"]
    names = songs.drop_duplicates("track_id").set_index("track_id")["track_name"]
    return pd.DataFrame(
        {
            "pid": out["pid"].astype("int64"),
            "name": PSEUDO_NAME,
            "pos": out["pos"].astype("int64"),
            "track_uri": "spotify:track:" + out["track_id"],
            "track_id": out["track_id"],
            "artist_name": out["track_id"].map(artists).fillna("").astype(str).to_numpy(),
            "track_name": out["track_id"].map(names).fillna("").astype(str).to_numpy(),
        }
    )


def with_feedback(
    playlists: Any,
    split: pd.Series,
    accepted: pd.DataFrame,
    songs: pd.DataFrame,
    policy: FeedbackTraining = FeedbackTraining(),
) -> tuple[pd.DataFrame, pd.Series, int]:
    """``playlists`` (a frame or a ``PlaylistStore``) and ``split`` with the feedback
    pseudo-playlists added as training playlists, and how many were added."""
    from playlist_assets.lib.recommend.cooccurrence import TRAIN

    n_real = int((split == TRAIN).sum())
    pseudo = pseudo_playlists(accepted, songs, n_real, policy)
    if pseudo.empty:
        return playlists, split, 0
    if not isinstance(playlists, pd.DataFrame):
        # A PlaylistStore (out of core): read into memory to add the rows. Fine for the sample
        # and tens of thousands of playlists; at the full MPD the pseudo-playlists belong in the
        # store's own tables instead (not done yet).
        playlists = playlists.frame()
    pids = pd.Index(pseudo["pid"].unique(), name=split.index.name)
    split = pd.concat([split, pd.Series(TRAIN, index=pids, name=split.name)])
    columns = [c for c in playlists.columns if c in pseudo.columns]
    both = pd.concat(
        [
            playlists.astype({c: object for c in columns if c != "pid" and c != "pos"}),
            pseudo[columns],
        ],
        ignore_index=True,
    )
    return both, split, len(pids)
