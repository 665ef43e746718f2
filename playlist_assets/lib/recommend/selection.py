"""Choosing the list from scored songs: deterministic, no seed, one id per song, k long.

Every strategy ends here: ties fall to popularity then catalogue order; a song that is one of the
seeds under another id (same normalised name and artists) is never recommended, and only the
first id of a song is; a strategy that scored fewer than ``k`` songs is filled by popularity.
"""

from __future__ import annotations

import numpy as np

from playlist_assets.lib.recommend.features import Seeds
from playlist_assets.lib.recommend.songs import SongTable


def select(
    table: SongTable, positions: np.ndarray, scores: np.ndarray, seeds: Seeds, k: int
) -> np.ndarray:
    """Top-k song positions of the scored ``positions`` (higher ``scores`` first)."""
    banned = np.zeros(table.identities, dtype=bool)
    banned[table.identity[seeds.songs]] = True
    scores = np.asarray(scores, dtype=float)
    keep = ~banned[table.identity[positions]] & np.isfinite(scores)
    positions, scores = positions[keep], scores[keep]
    if len(positions) > 4 * k + 64:  # only the best can make the list
        cut = -np.partition(-scores, 4 * k + 63)[4 * k + 63]
        tied = scores >= cut
        positions, scores = positions[tied], scores[tied]
    ranked = positions[np.lexsort((positions, -table.popularity[positions], -scores))]
    chosen = first_of_each(ranked, table.identity, k)
    if len(chosen) < k:
        banned[table.identity[chosen]] = True
        chosen = np.concatenate([chosen, fill(table, banned, k - len(chosen))])
    return chosen


def fill(table: SongTable, banned: np.ndarray, wanted: int) -> np.ndarray:
    """Up to ``wanted`` songs by popularity whose identity is not ``banned``."""
    order, identity, out = table.by_popularity, table.identity, []
    start, step = 0, max(4 * wanted, 256)
    while wanted > 0 and start < len(order):
        block = order[start : start + step]
        block = first_of_each(block[~banned[identity[block]]], identity, wanted)
        banned[identity[block]] = True
        out.append(block)
        wanted -= len(block)
        start += step
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def first_of_each(ranked: np.ndarray, identity: np.ndarray, limit: int) -> np.ndarray:
    """The first position of each song identity in ``ranked``, in order, at most ``limit``."""
    _, first = np.unique(identity[ranked], return_index=True)
    return ranked[np.sort(first)][:limit]
