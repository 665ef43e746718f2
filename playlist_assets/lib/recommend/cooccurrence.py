"""What people put together: track co-occurrence learned from a training split of playlists.

The split is a keyed hash of each playlist id (stable when playlists are added), in three nested
parts: ``holdout`` (never learned from; the evaluation's playlists), ``validation`` (inside the
training playlists; the hybrid's blend weights are chosen on it with co-occurrence learned from
the rest) and ``train``. Everything is sparse: a playlist x track incidence matrix and, from it,
track x catalogue-song and artist x catalogue-song co-occurrence counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from playlist_assets.lib.classifier.split import hash_unit
from playlist_assets.lib.recommend.names import SPLIT_SALT
from playlist_assets.lib.recommend.playlist_store import CHUNK_PLAYLISTS, PlaylistStore

CASE_SALT = "case-sample"
# Playlists a tuning or evaluation run looks at, at most: above the real extract's ~1,300 held-out
# and validation playlists each, so its figures are those of every playlist.
MAX_CASE_PLAYLISTS = 5_000
HOLDOUT = "holdout"
VALIDATION = "validation"
TRAIN = "train"


def normalize_artist(name: object) -> str:
    """Artist names compared across sources (MPD ``artist_name``, the catalogue's ``artists``)."""
    return " ".join(str(name).casefold().split())


def split_playlists(
    pids: Iterable[int],
    holdout_fraction: float = 0.2,
    validation_fraction: float = 0.2,
    salt: str = SPLIT_SALT,
) -> pd.Series:
    """``holdout`` / ``validation`` / ``train`` for each pid (index), a pure function of the pid."""
    if not 0 <= holdout_fraction < 1 or not 0 <= validation_fraction < 1:
        raise ValueError("holdout_fraction and validation_fraction must lie within [0, 1)")
    if holdout_fraction + validation_fraction >= 1:
        raise ValueError("holdout_fraction + validation_fraction must leave playlists to train on")
    pids = pd.Index(pd.unique(np.asarray(list(pids), dtype=np.int64)), name="pid")
    u = hash_unit(pd.Series(pids.astype(str)), salt)
    part = np.where(
        u < holdout_fraction,
        HOLDOUT,
        np.where(u < holdout_fraction + validation_fraction, VALIDATION, TRAIN),
    )
    return pd.Series(part, index=pids, name="split")


@dataclass(frozen=True)
class Case:
    """One continuation task: the first half of a playlist given, its catalogue songs after it to find."""

    pid: int
    seeds: list[str]
    targets: list[str]
    seed_artists: list[str] = field(default_factory=list)


def case_playlists(pids: Iterable[int], limit: int = MAX_CASE_PLAYLISTS) -> np.ndarray:
    """At most ``limit`` of ``pids``: those first in a keyed hash of the pid, so the sample is
    stable as playlists are added (all of them when there are no more than ``limit``)."""
    pids = pd.unique(np.asarray(list(pids), dtype=np.int64))
    if limit <= 0 or len(pids) <= limit:
        return pids
    order = np.argsort(hash_unit(pd.Series(pids.astype(str)), CASE_SALT), kind="stable")
    return np.sort(pids[order[:limit]])


def continuation_cases(
    playlists: pd.DataFrame | PlaylistStore,
    pids: Iterable[int],
    catalogue_ids: Iterable[str],
    *,
    min_catalogue_tracks: int = 5,
    max_playlists: int = MAX_CASE_PLAYLISTS,
) -> list[Case]:
    """Cases for the given playlists: seeds = first half (every track, catalogue or not), targets =
    the distinct catalogue songs of the second half that are not already seeds.

    Only playlists with at least ``min_catalogue_tracks`` distinct catalogue songs and at least one
    target are kept (the real MPD extract shares few songs with the Kaggle catalogue). At most
    ``max_playlists`` playlists are looked at (``case_playlists``): tuning and evaluation cost
    what they cost at a few thousand playlists however many the warehouse holds.
    """
    catalogue = set(catalogue_ids)
    chosen = case_playlists(pids, max_playlists)
    if isinstance(playlists, PlaylistStore):
        wanted = playlists.frame(chosen)
    else:
        wanted = playlists[playlists["pid"].isin(set(chosen.tolist()))]
    wanted = wanted.sort_values(["pid", "pos"], kind="stable")
    tracks = wanted["track_id"].astype(str).to_numpy()
    artists = wanted["artist_name"].astype(str).to_numpy()
    bounds = np.flatnonzero(np.diff(wanted["pid"].to_numpy())) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(wanted)]])
    cases = []
    for start, end in zip(starts, ends, strict=True):
        ids = tracks[start:end].tolist()
        if len({t for t in ids if t in catalogue}) < min_catalogue_tracks:
            continue
        half = len(ids) // 2
        seeds = ids[:half]
        given = set(seeds)
        targets = [t for t in dict.fromkeys(ids[half:]) if t in catalogue and t not in given]
        if half and targets:
            pid = int(wanted["pid"].iat[start])
            cases.append(Case(pid, seeds, targets, artists[start : start + half].tolist()))
    return cases


@dataclass
class TrackCooccurrence:
    """Co-occurrence of every training-playlist track with the catalogue's songs (sparse).

    Rows of the item matrices follow ``items``; columns follow ``catalogue_ids`` (song_index order
    when learned). ``blends`` are the hybrid's blends chosen on the validation split.
    """

    items: np.ndarray  # track ids seen in the training playlists
    item_playlists: np.ndarray  # training playlists holding each item
    item_artist: np.ndarray  # code into ``artists`` (-1: unknown)
    artists: np.ndarray  # normalized artist names
    artist_playlists: np.ndarray  # training playlists holding each artist
    catalogue_ids: np.ndarray
    counts: sp.csr_matrix  # items x catalogue: playlists holding both
    length_weighted: sp.csr_matrix  # items x catalogue: sum over those playlists of 1/sqrt(length)
    artist_counts: sp.csr_matrix  # artists x catalogue: playlists holding both
    incidence: sp.csc_matrix  # playlists x items (training playlists)
    catalogue_incidence: sp.csr_matrix  # playlists x catalogue
    playlist_lengths: np.ndarray
    split: dict[str, Any] = field(default_factory=dict)  # holdout_pids, training_pids
    spec: Any = None  # the SplitSpec it was learned with (settings.py)
    blends: Any = None  # the Blends chosen on validation playlists (None: the defaults)
    tuning: dict[str, Any] = field(default_factory=dict)  # how the blends were chosen

    @property
    def n_playlists(self) -> int:
        return int(self.incidence.shape[0])

    @property
    def catalogue_playlists(self) -> np.ndarray:
        """Training playlists holding each catalogue song (its frequency in the playlists data)."""
        return np.asarray(self.catalogue_incidence.sum(axis=0)).ravel()

    def pairs(self, limit: int | None = None) -> pd.DataFrame:
        """The strongest (track, catalogue song) pairs as a table, for metadata and inspection."""
        coo = self.counts.tocoo()
        order = np.lexsort((coo.col, coo.row, -coo.data))
        if limit is not None:
            order = order[:limit]
        return pd.DataFrame(
            {
                "item_id": self.items[coo.row[order]],
                "track_id": self.catalogue_ids[coo.col[order]],
                "playlists": coo.data[order].astype(np.int64),
            }
        )


def learn_cooccurrence(
    playlists: pd.DataFrame | PlaylistStore,
    train_pids: Iterable[int],
    catalogue_ids: Sequence[str],
    *,
    chunk_playlists: int = CHUNK_PLAYLISTS,
) -> TrackCooccurrence:
    """Count, over the given training playlists, which tracks appear with which catalogue songs.

    ``playlists`` is the long DataFrame (``read_playlists``; one chunk, held in memory) or a
    ``PlaylistStore``, read ``chunk_playlists`` playlists at a time as integer codes: each
    chunk's sparse products are added up, so no step holds the playlists as Python objects.
    Items are numbered in order of first appearance either way.
    """
    if isinstance(playlists, pd.DataFrame):
        chunks, describe = _frame_chunks(playlists, train_pids)
    else:
        chunks, describe = playlists.chunks(train_pids, chunk_playlists), _store_tracks(playlists)
    learner = _Learner(np.asarray(catalogue_ids, dtype=object), describe)
    for playlist, code in chunks:
        learner.add(playlist, code)
    return learner.result()


def _frame_chunks(playlists: pd.DataFrame, train_pids: Iterable[int]):
    train = playlists[playlists["pid"].isin(set(train_pids))]
    track_ids = train["track_id"].astype(str).to_numpy()
    codes, uniques = pd.factorize(track_ids)
    first_artist = (
        pd.Series(train["artist_name"].astype(str).to_numpy(), index=codes)
        .groupby(level=0, sort=False)
        .first()
    )

    def describe(new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(uniques[new], dtype=object), first_artist.reindex(new).to_numpy()

    return ([(train["pid"].to_numpy(), codes)] if len(train) else []), describe


def _store_tracks(store: PlaylistStore):
    def describe(new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = store.tracks(new)
        return found["track_id"].to_numpy(dtype=object), found["artist_name"].to_numpy()

    return describe


def _grown(matrix: sp.csr_matrix | None, shape: tuple[int, int]) -> sp.csr_matrix:
    """``matrix`` with zero rows/columns appended up to ``shape`` (None: all zeros)."""
    if matrix is None:
        return sp.csr_matrix(shape, dtype=np.float32)
    extra = shape[0] - matrix.shape[0]
    indptr = np.concatenate([matrix.indptr, np.full(extra, matrix.indptr[-1])])
    return sp.csr_matrix((matrix.data, matrix.indices, indptr), shape=shape)


def _summed(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    out = np.zeros(max(len(total), len(part)), dtype=np.float64)
    out[: len(total)] += total
    out[: len(part)] += part
    return out


class _Learner:
    """Co-occurrence added up chunk by chunk (a playlist's entries never span two chunks)."""

    def __init__(self, catalogue_ids: np.ndarray, describe) -> None:
        self.catalogue_ids = catalogue_ids
        self._catalogue = pd.Index(catalogue_ids)
        self._describe = describe
        self._item_of = np.zeros(0, dtype=np.int64)
        self._ids: list[np.ndarray] = []
        self._columns: list[np.ndarray] = []  # each item's catalogue column (-1: not a song)
        self._artist_codes: list[np.ndarray] = []
        self._artist_index: dict[str, int] = {}
        self._blocks: list[sp.csr_matrix] = []
        self._catalogue_blocks: list[sp.csr_matrix] = []
        self._lengths: list[np.ndarray] = []
        self.n_items = 0
        self.counts = self.length_weighted = self.artist_counts = None
        self.item_playlists = self.artist_playlists = np.zeros(0)

    def _new_items(self, code: np.ndarray) -> None:
        if len(self._item_of) <= code.max():
            grown = np.full(int(code.max()) + 1, -1, dtype=np.int64)
            grown[: len(self._item_of)] = self._item_of
            self._item_of = grown
        unseen = code[self._item_of[code] < 0]
        if not len(unseen):
            return
        new = pd.unique(unseen)  # in order of first appearance
        self._item_of[new] = np.arange(self.n_items, self.n_items + len(new))
        self.n_items += len(new)
        ids, artists = self._describe(new)
        self._ids.append(ids)
        self._columns.append(self._catalogue.get_indexer(ids))
        index = self._artist_index
        names = [normalize_artist(a) for a in artists]
        self._artist_codes.append(np.array([index.setdefault(n, len(index)) for n in names]))

    def add(self, playlist: np.ndarray, code: np.ndarray) -> None:
        if not len(code):
            return
        self._new_items(code)
        n_items, n_songs, n_artists = self.n_items, len(self.catalogue_ids), len(self._artist_index)
        rows, _ = pd.factorize(playlist)
        ones = np.ones(len(rows), dtype=np.float32)
        incidence = sp.csr_matrix(
            (ones, (rows, self._item_of[code])), shape=(int(rows.max()) + 1, n_items)
        )
        incidence.sum_duplicates()
        incidence.data[:] = 1.0  # a track repeated in a playlist counts once
        columns = np.concatenate(self._columns)
        known = np.flatnonzero(columns >= 0)
        select = sp.csr_matrix(
            (np.ones(len(known), dtype=np.float32), (known, columns[known])),
            shape=(n_items, n_songs),
        )
        catalogue_incidence = (incidence @ select).tocsr()
        lengths = np.asarray(incidence.sum(axis=1)).ravel()
        inv_len = sp.diags((1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32))
        incidence_t = incidence.T.tocsr()
        counts = (incidence_t @ catalogue_incidence).tocsr()
        length_weighted = (incidence_t @ inv_len @ catalogue_incidence).tocsr()
        artist_of_item = sp.csr_matrix(
            (
                np.ones(n_items, dtype=np.float32),
                (np.arange(n_items), np.concatenate(self._artist_codes)),
            ),
            shape=(n_items, n_artists),
        )
        artist_incidence = (incidence @ artist_of_item).tocsr()
        artist_incidence.data[:] = 1.0
        artist_counts = (artist_incidence.T @ catalogue_incidence).tocsr()
        if self.counts is None:  # one chunk (the DataFrame): the products as they are
            self.counts, self.length_weighted = counts, length_weighted
            self.artist_counts = artist_counts
        else:
            self.counts = _grown(self.counts, counts.shape) + counts
            self.length_weighted = _grown(self.length_weighted, counts.shape) + length_weighted
            self.artist_counts = _grown(self.artist_counts, artist_counts.shape) + artist_counts
        self.item_playlists = _summed(
            self.item_playlists, np.asarray(incidence.sum(axis=0)).ravel()
        )
        self.artist_playlists = _summed(
            self.artist_playlists, np.asarray(artist_incidence.sum(axis=0)).ravel()
        )
        self._blocks.append(incidence)
        self._catalogue_blocks.append(catalogue_incidence)
        self._lengths.append(lengths)

    def result(self) -> TrackCooccurrence:
        if not self._blocks:
            raise ValueError("no training playlists to learn co-occurrence from")
        n_items = self.n_items
        if len(self._blocks) == 1:
            incidence = self._blocks[0]
            catalogue_incidence = self._catalogue_blocks[0]
        else:
            incidence = sp.vstack(
                [
                    sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], n_items))
                    for b in self._blocks
                ],
                format="csr",
            )
            catalogue_incidence = sp.vstack(self._catalogue_blocks, format="csr")
        self._blocks.clear()
        return TrackCooccurrence(
            items=np.concatenate(self._ids),
            item_playlists=self.item_playlists.astype(np.int32),
            item_artist=np.concatenate(self._artist_codes).astype(np.int32),
            artists=np.asarray(list(self._artist_index), dtype=object),
            artist_playlists=self.artist_playlists.astype(np.int32),
            catalogue_ids=self.catalogue_ids,
            counts=self.counts,
            length_weighted=self.length_weighted,
            artist_counts=_grown(
                self.artist_counts, (len(self._artist_index), len(self.catalogue_ids))
            ),
            incidence=incidence.tocsc(),
            catalogue_incidence=catalogue_incidence,
            playlist_lengths=np.concatenate(self._lengths).astype(np.int32),
        )


COLD_SONG_SALT = "cold-songs"


def strip_songs(
    playlists: pd.DataFrame | PlaylistStore,
    catalogue_ids: Iterable[str],
    fraction: float = 0.2,
    salt: str = COLD_SONG_SALT,
) -> tuple[pd.DataFrame, frozenset[str]]:
    """The playlists without the rows of a share of the catalogue songs, and that share.

    The cold slice: co-occurrence learned from what is left has no evidence of the stripped
    songs, as for a song that just landed; the evaluation then scores how well the recommender
    brings them back. The share is a keyed hash of each catalogue track id, so it depends on
    nothing the playlists hold.
    """
    if not 0 <= fraction < 1:
        raise ValueError("the stripped share of songs must lie within [0, 1)")
    catalogue = pd.Series(pd.unique(np.asarray(list(catalogue_ids), dtype=object)), dtype=object)
    stripped = frozenset(catalogue[hash_unit(catalogue.astype(str), salt) < fraction].astype(str))
    if isinstance(playlists, PlaylistStore):
        return playlists.without(stripped), stripped
    keep = ~playlists["track_id"].astype(str).isin(stripped).to_numpy()
    return playlists.loc[keep], stripped
