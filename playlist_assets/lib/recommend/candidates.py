"""The songs a request scores: everything that could reach a playlist's list, and nothing else.

Scoring every song of a base that grows by ~350,000 fresh songs a year made a request cost what
the base costs. The hybrid's score of a song is the warm blend of its co-occurrence evidence or
the cold-song blend of what it shares with the seeds (artist, album, genre, audio) plus its
popularity; a song with none of these ranks by popularity within its genre. So the candidates are:
songs the training playlists put with the seeds or with the seeds' artists, songs of the seeds'
artists and albums, the most popular songs of the seeds' genres and the most frequent and most
popular songs overall, each list long enough to fill ``k`` places.
"""

from __future__ import annotations

import numpy as np

from playlist_assets.lib.recommend.evidence import Evidence
from playlist_assets.lib.recommend.features import Seeds, evidenced, sorted_unique, take
from playlist_assets.lib.recommend.songs import SongTable

# Extra places per list beyond k: seeds and songs that are one of them are removed afterwards.
SLACK = 32
# The most popular songs of each seed artist and album that are candidates: the cold-song scorer
# weighs popularity heavily, and an artist of a year of fresh songs has thousands of songs.
PER_ARTIST = 50


def candidates(table: SongTable, evidence: Evidence, seeds: Seeds, k: int) -> np.ndarray:
    """Sorted positions of the songs the hybrid scores for this playlist (never a seed)."""
    depth = k + len(seeds.songs) + SLACK
    parts = [
        evidenced(evidence, seeds),
        table.by_popularity[:depth],
        evidence.by_frequency[: min(depth, int((evidence.frequency > 0).sum()))],
    ]
    artists = [table.artist_code[a] for a in dict.fromkeys(seeds.artists) if a in table.artist_code]
    if artists:
        parts.append(take(table.artist_songs, np.asarray(artists), PER_ARTIST).indices)
    known = [
        evidence.artist_code[a] for a in dict.fromkeys(seeds.artists) if a in evidence.artist_code
    ]
    if known:
        parts.append(take(evidence.artist_counts, np.asarray(known), PER_ARTIST).indices)
    if len(seeds.songs):
        albums = sorted_unique(table.album[seeds.songs])
        albums = albums[albums >= 0]
        if len(albums):
            parts.append(take(table.album_songs, albums, PER_ARTIST).indices)
        for g in sorted_unique(table.genre[seeds.songs]):
            if g >= 0:
                parts.append(table.by_genre_popularity[g][:depth])
    out = sorted_unique(np.concatenate(parts).astype(np.int64))
    return out[~np.isin(out, seeds.songs)]
