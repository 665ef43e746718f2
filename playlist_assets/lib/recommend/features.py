"""The hybrid's features of a playlist's candidate songs (each feature in [0, 1], but see below).

A request computes them only for its candidates (``candidates.py``): songs the training
playlists put with the seeds, songs of the seeds' artists and albums, and the most popular songs
of the seeds' genres. Features normalised "by max" are divided by their largest value over the
candidates, which is their largest over the whole base: every song with a non-zero value of such
a feature is a candidate. Listeners' feedback (lib/feedback/training.py) adds co-occurrence (or
takes it away: a skipped song's) but not scale: those features are divided by their largest
value over the real playlists alone, so a song listeners accepted can pass 1 while a song they
did not react to keeps its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from playlist_assets.lib.recommend.evidence import Evidence
from playlist_assets.lib.recommend.names import FEATURES
from playlist_assets.lib.recommend.songs import SongTable

COLUMN: dict[str, int] = {name: i for i, name in enumerate(FEATURES)}
# The training playlists most like the seeds that the ``neighbours`` feature reads (k-NN): a
# popular seed sits in tens of thousands of playlists of the full Million Playlist Dataset.
NEIGHBOUR_PLAYLISTS = 5_000


@dataclass(eq=False)
class Seeds:
    """A parsed playlist: its tracks found in the songs base and in the co-occurrence data."""

    ids: list[str]
    songs: np.ndarray  # positions of the seeds in the songs base
    items: np.ndarray  # rows of the co-occurrence data
    item_order: np.ndarray  # position of each of those seeds in the playlist
    artists: list[str]  # normalised artist names of the seeds, one vote per (seed, artist)
    voters: int  # seeds whose artist is known
    missing: list[str]
    unknown: list[str]
    cached: dict[str, Any] = field(default_factory=dict, repr=False)  # per-request lookups


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2's hashing ``unique`` took 4x as long on the few
    thousand positions of a request."""
    out = np.sort(values)
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


def scaled(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """``x / max(reference)`` (default ``x``); zeros when the reference has nothing positive."""
    reference = x if reference is None else reference
    top = reference.max() if reference.size else 0.0
    return x / top if top > 0 else np.zeros_like(x)


class Slots:
    """Index of each song among ``candidates`` (-1: not a candidate), ``slots[songs]``.

    A binary search over the sorted candidates: a lookup array the size of the base cost more
    than the rest of a request once a year of fresh songs is in it."""

    def __init__(self, candidates: np.ndarray) -> None:
        self.order = np.argsort(candidates, kind="stable")
        self.sorted = np.asarray(candidates)[self.order]

    def __getitem__(self, songs: np.ndarray) -> np.ndarray:
        songs = np.asarray(songs)
        if not len(self.sorted):
            return np.full(songs.shape, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, songs), len(self.sorted) - 1)
        return np.where(self.sorted[at] == songs, self.order[at], -1)


@dataclass(frozen=True)
class Rows:
    """Some rows of a sparse matrix as flat arrays: each entry's row (0..len(rows)-1), column
    and value. scipy's fancy indexing costs ~0.1 ms a call, most of a request's time."""

    row_of: np.ndarray
    indices: np.ndarray
    data: np.ndarray


def take(matrix: sp.csr_matrix | sp.csc_matrix, rows: np.ndarray, limit: int | None = None) -> Rows:
    """The ``rows`` of a CSR matrix (or the columns of a CSC one) as ``Rows``; with ``limit``,
    only the first ``limit`` entries of each row."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = matrix.indptr[rows].astype(np.int64)
    lengths = matrix.indptr[rows + 1].astype(np.int64) - starts
    if limit is not None:
        lengths = np.minimum(lengths, limit)
    total = int(lengths.sum())
    row_of = np.repeat(np.arange(len(rows)), lengths)
    at = np.arange(total) + (starts - (np.cumsum(lengths) - lengths))[row_of]
    return Rows(row_of, matrix.indices[at], matrix.data[at])


def gather(rows: Rows, slot: Slots, size: int, weights: np.ndarray) -> np.ndarray:
    """``rows.T @ weights`` at the candidates only (``slot``: their ``Slots``; ``size``: how many):
    candidates x weight columns, in time linear in the rows' entries."""
    out = np.zeros((size, weights.shape[1]))
    if not len(rows.indices) or not size:
        return out
    local = slot[rows.indices]
    ok = local >= 0
    row_of, values = rows.row_of[ok], rows.data[ok]
    for j in range(weights.shape[1]):
        out[:, j] = np.bincount(local[ok], values * weights[row_of, j], minlength=size)
    return out


def seed_rows(evidence: Evidence, seeds: Seeds) -> Rows:
    """The co-occurrence rows of the seeds (cached on the request)."""
    if "rows" not in seeds.cached:
        seeds.cached["rows"] = take(evidence.counts, seeds.items)
    return seeds.cached["rows"]


def evidenced(evidence: Evidence, seeds: Seeds) -> np.ndarray:
    """Sorted positions of the songs some training playlist puts with a seed (cached)."""
    if "evidenced" not in seeds.cached:
        seeds.cached["evidenced"] = sorted_unique(seed_rows(evidence, seeds).indices).astype(
            np.int64
        )
    return seeds.cached["evidenced"]


def candidate_features(
    table: SongTable, evidence: Evidence, seeds: Seeds, candidates: np.ndarray
) -> np.ndarray:
    """The hybrid's feature matrix (candidates x FEATURES) for the sorted ``candidates``.

    The features scaled by their maximum (``scaled``) are scaled over the candidates and the
    seeds' own songs, as over the whole base: the seeds hold the largest co-occurrence values, and
    the blends were fitted on that scale (without the seeds, a playlist's best candidate got 1.0
    and the blend's balance between co-occurrence, neighbours and the rest moved)."""
    scope = sorted_unique(np.concatenate([candidates, seeds.songs]).astype(np.int64))
    if len(scope) == len(candidates):
        return _features(table, evidence, seeds, candidates)
    return _features(table, evidence, seeds, scope)[np.searchsorted(scope, candidates)]


def _features(
    table: SongTable, evidence: Evidence, seeds: Seeds, candidates: np.ndarray
) -> np.ndarray:
    out = np.zeros((len(candidates), len(FEATURES)))
    if not len(candidates):
        return out
    col = COLUMN
    slot = Slots(candidates)
    if len(seeds.items):
        _cooccurrence(out, evidence, seeds, slot)
    top = evidence.top_frequency
    if top > 0:
        out[:, col["frequency"]] = np.log1p(evidence.frequency[candidates]) / np.log1p(top)
    if seeds.artists:
        _artists(out, table, evidence, seeds, candidates, slot)
    if len(seeds.songs):
        _songs(out, table, seeds, candidates)
    out[:, col["popularity"]] = table.popularity[candidates] / 100.0
    return out


def _cooccurrence(out: np.ndarray, ev: Evidence, seeds: Seeds, slot: Slots) -> None:
    col, size = COLUMN, len(out)
    playlists = np.maximum(ev.item_playlists[seeds.items], 1.0)
    idf = 1.0 / np.sqrt(playlists)
    late = 1.0 + 3.0 * seeds.item_order / max(len(seeds.ids) - 1, 1)
    sub = seed_rows(ev, seeds)
    per_seed = np.column_stack([np.ones(len(idf)), idf, idf * late])
    summed = gather(sub, slot, size, per_seed)
    weighted = gather(take(ev.length_weighted, seeds.items), slot, size, idf[:, None])[:, 0]
    real = real_weighted = None  # without listeners' feedback each feature is its own scale
    if ev.feedback_counts is not None:
        real = summed - gather(take(ev.feedback_counts, seeds.items), slot, size, per_seed)
        fed = take(ev.feedback_length_weighted, seeds.items)
        real_weighted = weighted - gather(fed, slot, size, idf[:, None])[:, 0]
        summed, weighted = np.maximum(summed, 0.0), np.maximum(weighted, 0.0)  # skips subtract
    out[:, col["cooc"]] = scaled(
        np.log1p(summed[:, 0]), None if real is None else np.log1p(real[:, 0])
    )
    out[:, col["cooc_idf"]] = scaled(summed[:, 1], None if real is None else real[:, 1])
    out[:, col["cooc_recent"]] = scaled(summed[:, 2], None if real is None else real[:, 2])
    out[:, col["cooc_length"]] = scaled(weighted, real_weighted)
    if len(sub.indices):
        local = slot[sub.indices]
        ok = local >= 0
        best = np.zeros(size)
        np.maximum.at(best, local[ok], (sub.data / playlists[sub.row_of])[ok])
        out[:, col["cooc_max"]] = best
    out[:, col["neighbours"]] = scaled(_neighbours(ev, seeds, slot, size))


def _neighbours(ev: Evidence, seeds: Seeds, slot: Slots, size: int) -> np.ndarray:
    """Summed squared cosine of the training playlists with the seeds, per candidate song."""
    holding = take(ev.playlist_items, seeds.items).indices
    playlists, overlap = np.unique(holding, return_counts=True)
    sims = overlap * ev.playlist_norm[playlists] / np.sqrt(len(seeds.items))
    if len(playlists) > NEIGHBOUR_PLAYLISTS:
        nearest = np.argpartition(-sims, NEIGHBOUR_PLAYLISTS - 1)[:NEIGHBOUR_PLAYLISTS]
        playlists, sims = playlists[nearest], sims[nearest]
    return gather(take(ev.playlist_songs, playlists), slot, size, (sims * sims)[:, None])[:, 0]


def _artists(
    out: np.ndarray,
    table: SongTable,
    ev: Evidence,
    seeds: Seeds,
    cand: np.ndarray,
    slot: Slots,
) -> None:
    col = COLUMN
    codes = np.asarray([table.artist_code.get(a, -1) for a in seeds.artists], dtype=np.int64)
    codes = codes[codes >= 0]
    if len(codes):
        votes = np.bincount(codes, minlength=len(table.artist_vocab)).astype(float)
        mine = take(table.song_artists, cand)
        per_song = np.bincount(mine.row_of, votes[mine.indices], minlength=len(cand))
        shared = np.bincount(mine.row_of, votes[mine.indices] > 0, minlength=len(cand))
        out[:, col["artist"]] = np.minimum(shared, 1.0)
        out[:, col["artist_share"]] = np.minimum(per_song / max(seeds.voters, 1), 1.0)
    names = list(dict.fromkeys(seeds.artists))
    known = np.asarray([ev.artist_code.get(a, -1) for a in names], dtype=np.int64)
    known = known[known >= 0]
    if len(known):
        weight = 1.0 / np.sqrt(np.maximum(ev.artist_playlists[known], 1.0))
        summed = gather(take(ev.artist_counts, known), slot, len(cand), weight[:, None])
        out[:, col["artist_cooc"]] = scaled(summed[:, 0])


def _songs(out: np.ndarray, table: SongTable, seeds: Seeds, cand: np.ndarray) -> None:
    col = COLUMN
    albums = table.album[seeds.songs]
    albums = albums[albums >= 0]
    if len(albums):
        mine = table.album[cand]
        out[:, col["album"]] = np.isin(mine, albums) & (mine >= 0)
    heard = seeds.songs[table.has_audio[seeds.songs]]
    if len(heard):
        centre = table.audio_z(heard).mean(axis=0)
        norm = np.linalg.norm(centre)
        if norm > 0:
            out[:, col["audio"]] = 0.5 * (table.direction[cand] @ (centre / norm)) + 0.5
    table.posteriors(seeds.songs)
    genre = table.genre[cand]
    known = genre >= 0
    seed_genres = table.genre[seeds.songs]
    share = np.bincount(seed_genres[seed_genres >= 0], minlength=len(table.genres))
    posterior = table.posterior[seeds.songs].mean(axis=0)
    out[known, col["genre_share"]] = share[genre[known]] / len(seeds.songs)
    out[known, col["genre_posterior"]] = posterior[genre[known]]
    if table.cluster_posterior:
        clusters = np.zeros((len(table.genres), table.max_components))
        for g, post in table.cluster_posterior.items():
            clusters[g, : post.shape[1]] = post[seeds.songs].mean(axis=0)
        cluster = table.cluster[cand]
        ok = known & (cluster >= 0) & (cluster < clusters.shape[1])
        out[ok, col["cluster_posterior"]] = posterior[genre[ok]] * clusters[genre[ok], cluster[ok]]
