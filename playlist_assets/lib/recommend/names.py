"""Names the recommender, its evaluation, the assets, the CLI and the dashboard share.

Light on purpose (no numpy, no pandas): the CLI's argument parser and the dashboard read these
before anything heavy is imported.
"""

from __future__ import annotations

# Strategies a user can ask for, in report order; ``random`` is the evaluation's floor.
STRATEGIES: tuple[str, ...] = ("hybrid", "cooccurrence", "frequent", "popular", "cluster", "random")
DEFAULT_STRATEGY = "hybrid"
# Scored side by side on the held-out playlists by default (``random`` only on the cold slice).
EVAL_STRATEGIES: tuple[str, ...] = ("hybrid", "cooccurrence", "frequent", "popular", "cluster")
COLD_SONG_STRATEGIES: tuple[str, ...] = ("hybrid", "cooccurrence", "popular", "random")

# Per-playlist metrics of the warm evaluation (RecSys Challenge 2018 + the old cosine score).
METRICS: tuple[str, ...] = ("r_precision", "ndcg", "clicks", "hit_at_10", "hit_at_100", "cosine")
# Per-playlist metrics of the cold-song slice (targets: songs stripped from the training rows).
RECALL_KS: tuple[int, ...] = (100, 500)
COLD_SONG_METRICS: tuple[str, ...] = (
    *(f"recall_at_{k}" for k in RECALL_KS),
    "r_precision",
    "ndcg",
)

# Slices of the ``recommendation_eval`` table.
SLICE_ALL = "all"  # held-out playlists, full co-occurrence (the warm slice)
SLICE_COLD_START = "cold_start"  # held-out playlists none of whose tracks is in the playlists data
SLICE_SIMULATED_COLD_START = "simulated_cold_start"  # every playlist's seeds hidden
SLICE_COLD_SONGS = "cold_songs"  # songs stripped from the training playlists, to be found again

# A song that landed in the feed within this many hours is flagged ``new`` in recommendations.
NEW_SONG_HOURS = 24

# Songs a retrain's tuning and evaluation rank among (lib.classifier.split.evaluation_pool): every song of a
# playlist plus a stable sample of the rest. Serving ranks the whole base. Above the real
# catalogue's 6,285 songs in the ten genres, so its evaluation ranks every song as before.
DEFAULT_MAX_EVAL_SONGS = 10_000
