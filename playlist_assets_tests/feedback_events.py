"""Listeners' reactions as a retrain reads them, from event rows (tests of feedback training)."""

from __future__ import annotations

import duckdb
import pandas as pd

from playlist_assets.lib.feedback.training import FeedbackTraining, feedback_pairs, per_song


def feedback_of(
    events: pd.DataFrame, n_real: int, policy: FeedbackTraining | None = None
) -> tuple[pd.DataFrame, int]:
    """``feedback_pairs`` of event rows as ``read_reactions`` reads them from the warehouse."""
    policy = policy or FeedbackTraining()
    with duckdb.connect() as con:
        con.register("events_frame", events)
        songs = per_song(con, "select * from events_frame", policy.max_per_user)
    return feedback_pairs(songs, n_real, policy)
