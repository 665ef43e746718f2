"""Listeners' feedback adds co-occurrence evidence without rescaling every other song's."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feedback_events import feedback_of

from playlist_assets.lib.recommend.features import COLUMN, candidate_features, evidenced


def test_feedback_raises_the_accepted_song_and_leaves_the_other_songs_cooccurrence(world):
    recommender = world["recommender"]
    case = world["cases"][0]
    seeds = recommender.seeds(case.seeds)
    candidates = evidenced(recommender.evidence, seeds)
    # a song of the base no training playlist puts with these seeds: listeners accept it
    outside = np.setdiff1d(np.arange(recommender.n), np.union1d(candidates, seeds.songs))
    accepted_song = recommender.ids[outside[0]]
    reactions = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(6)],
            "track_id": [accepted_song] * 6,
            "user": [f"listener {i}" for i in range(6)],
            "time": pd.date_range("2026-11-01", periods=6, freq="min"),
            "seeds": [list(case.seeds)] * 6,
            "accepted": [True] * 6,
        }
    )
    pairs, contexts = feedback_of(reactions, 100)
    assert contexts == 1
    fed = recommender.with_cooccurrence(world["cooc"].with_feedback(pairs))

    scope = np.union1d(candidates, outside[:1])
    before = candidate_features(recommender.table, recommender.evidence, seeds, scope)
    after = candidate_features(fed.table, fed.evidence, fed.seeds(case.seeds), scope)
    took = np.searchsorted(scope, outside[0])
    others = np.arange(len(scope)) != took
    for name in ("cooc", "cooc_idf", "cooc_recent", "cooc_length"):
        column = COLUMN[name]
        assert before[took, column] == 0 and after[took, column] > 0
        # scaled by the largest value with the feedback, every other song's would have fallen
        np.testing.assert_allclose(after[others, column], before[others, column], rtol=1e-6)

    # and the accepted song comes up the list (one context weighs less than one playlist)
    def place(r) -> int:  # noqa: ANN001
        return list(r.recommend(list(case.seeds), 500, "hybrid").track_ids).index(accepted_song)

    assert place(fed) < place(recommender) - 50
