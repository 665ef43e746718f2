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

# The hybrid's features of a candidate song (each in [0, 1]; computed in ``features``).
FEATURES: tuple[str, ...] = (
    "cooc",  # log1p(summed co-occurrence with the seeds), / max
    "cooc_idf",  # co-occurrence, each seed weighted 1/sqrt(its playlist count), / max
    "cooc_length",  # same over playlists weighted 1/sqrt(playlist length), / max
    "cooc_recent",  # idf co-occurrence with later seeds weighted up to 4x, / max
    "cooc_max",  # max over the seeds of P(song | seed) in the training playlists
    "neighbours",  # songs of the training playlists most like this one (cosine^2), / max
    "frequency",  # log1p(playlists holding the song), / max over the catalogue
    "artist",  # shares an artist with a seed
    "artist_share",  # share of the seeds (artist known) by one of the song's artists
    "artist_cooc",  # co-occurrence with the seeds' artists, / max
    "album",  # same album (name) as a catalogue seed
    "audio",  # cosine of standardized audio features to the seeds' mean, mapped to [0, 1]
    "genre_share",  # share of the catalogue seeds in the song's genre
    "genre_posterior",  # classifier posterior of the song's genre, averaged over the seeds
    "cluster_posterior",  # genre posterior x the genre model's posterior of the song's cluster
    "popularity",  # catalogue popularity / 100
)
COOC_FEATURES: tuple[str, ...] = FEATURES[:6]

# Key of the playlist split's hash (``cooccurrence.split_playlists``).
SPLIT_SALT = "playlist-holdout"
