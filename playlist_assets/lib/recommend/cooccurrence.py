"""What people put together: track co-occurrence learned from a training split of playlists.

The split is a keyed hash of each playlist id (stable when playlists are added), in three nested
parts: ``holdout`` (never learned from; the evaluation's playlists), ``validation`` (inside the
training playlists; the hybrid's blend weights are chosen on it with co-occurrence learned from
the rest) and ``train``. Everything is sparse: a playlist x track incidence matrix and, from it,
track x catalogue-song and artist x catalogue-song co-occurrence counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
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
    # The part of ``counts`` and ``length_weighted`` that listeners' feedback makes (None: none;
    # ``with_feedback``): the features keep the real playlists' scale (features.py).
    feedback_counts: sp.csr_matrix | None = None
    feedback_length_weighted: sp.csr_matrix | None = None
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

    def with_feedback(self, pairs: pd.DataFrame) -> TrackCooccurrence:
        """These counts plus the listeners' (seed, song) weights (lib/feedback/training.py
        ``feedback_pairs``; a rejected song's weight is negative); pairs whose seed is not one
        of ``items`` or whose song is not in the catalogue are left out."""
        rows = pd.Index(self.items).get_indexer(pairs["item_id"])
        cols = pd.Index(self.catalogue_ids).get_indexer(pairs["track_id"])
        ok = (rows >= 0) & (cols >= 0)
        if not ok.any():
            return self

        def matrix(column: str) -> sp.csr_matrix:
            values = pairs[column].to_numpy(dtype=np.float32)[ok]
            return sp.csr_matrix((values, (rows[ok], cols[ok])), shape=self.counts.shape)

        fed, fed_weighted = matrix("weight"), matrix("length_weighted")
        return replace(
            self,
            counts=(self.counts + fed).tocsr(),
            length_weighted=(self.length_weighted + fed_weighted).tocsr(),
            feedback_counts=fed,
            feedback_length_weighted=fed_weighted,
        )

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
    items: Iterable[str] | None = None,
) -> TrackCooccurrence:
    """Count, over the given training playlists, which tracks appear with which catalogue songs.

    ``playlists`` is the long DataFrame (``read_playlists``; held in memory) or a
    ``PlaylistStore``, read ``chunk_playlists`` playlists at a time as integer codes, so no
    step holds the playlists as Python objects; either way items are numbered in order of
    first appearance and the results are the same, bit for bit.

    ``items`` keeps only these tracks' rows (counts, incidence columns, item arrays): what a
    tuning or evaluation fold needs, whose requests seed only its cases' tracks
    (``case_tracks``). Playlist lengths, the catalogue incidence and the artists are still
    learned from every track, so every score of those requests is the same as without it.
    """
    if isinstance(playlists, pd.DataFrame):
        chunks, describe = _frame_chunks(playlists, train_pids)
    else:
        chunks, describe = playlists.chunks(train_pids, chunk_playlists), _store_tracks(playlists)
    learner = _Learner(np.asarray(catalogue_ids, dtype=object), describe, items)
    for playlist, code in chunks:
        learner.add(playlist, code)
    return learner.result()


def case_tracks(cases: Iterable[Case]) -> set[str]:
    """Every track a case gives as a seed: the rows a fold's co-occurrence is read at."""
    return {track for case in cases for track in case.seeds}


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


class _Learner:
    """The incidence read chunk by chunk as integer codes (a playlist never spans two chunks),
    then each count matrix made by one sparse product: scipy sizes the result before filling
    it, so no partial sums are held. The products are those of the in-memory version, in the
    same order, so the float32 sums are the same to the bit."""

    def __init__(self, catalogue_ids: np.ndarray, describe, keep: Iterable[str] | None) -> None:
        self.catalogue_ids = catalogue_ids
        self._keep = None if keep is None else pd.Index(pd.unique(np.asarray(list(keep), object)))
        self._catalogue = pd.Index(catalogue_ids)
        self._describe = describe
        self._item_of = np.zeros(0, dtype=np.int64)
        self._ids: list[np.ndarray] = []
        self._artist_codes: list[np.ndarray] = []
        self._artist_index: dict[str, int] = {}
        self._blocks: list[sp.csr_matrix] = []
        self.n_items = 0

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
        self._ids.append(np.asarray(ids, dtype=object))
        index = self._artist_index
        names = [normalize_artist(a) for a in artists]
        self._artist_codes.append(np.array([index.setdefault(n, len(index)) for n in names]))

    def add(self, playlist: np.ndarray, code: np.ndarray) -> None:
        if not len(code):
            return
        self._new_items(code)
        rows, _ = pd.factorize(playlist)
        ones = np.ones(len(rows), dtype=np.float32)
        block = sp.csr_matrix(
            (ones, (rows, self._item_of[code])), shape=(int(rows.max()) + 1, self.n_items)
        )
        block.sum_duplicates()
        block.data[:] = 1.0  # a track repeated in a playlist counts once
        self._blocks.append(block)

    def _incidence(self) -> sp.csr_matrix:
        if len(self._blocks) == 1:
            return self._blocks.pop()
        blocks = [
            sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], self.n_items))
            for b in self._blocks
        ]
        self._blocks.clear()
        return sp.vstack(blocks, format="csr")

    def result(self) -> TrackCooccurrence:
        if not self._blocks:
            raise ValueError("no training playlists to learn co-occurrence from")
        incidence = self._incidence()
        n_items, n_songs = self.n_items, len(self.catalogue_ids)
        items = np.concatenate(self._ids)
        in_items = self._catalogue.get_indexer(items)
        known = np.flatnonzero(in_items >= 0)
        select = sp.csr_matrix(
            (np.ones(len(known), dtype=np.float32), (known, in_items[known])),
            shape=(n_items, n_songs),
        )
        catalogue_incidence = (incidence @ select).tocsr()
        lengths = np.asarray(incidence.sum(axis=1)).ravel()
        inv_len = sp.diags((1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32))
        artist_codes = np.concatenate(self._artist_codes).astype(np.int32)
        artist_of_item = sp.csr_matrix(
            (np.ones(n_items, dtype=np.float32), (np.arange(n_items), artist_codes)),
            shape=(n_items, len(self._artist_index)),
        )
        artist_incidence = (incidence @ artist_of_item).tocsr()
        artist_incidence.data[:] = 1.0
        item_playlists = np.asarray(incidence.sum(axis=0)).ravel().astype(np.int32)
        incidence = incidence.tocsc()  # what the recommender reads
        if self._keep is not None:
            kept = np.flatnonzero(self._keep.get_indexer(items) >= 0)
            incidence, items = incidence[:, kept], items[kept]
            item_playlists, artist_codes = item_playlists[kept], artist_codes[kept]
        incidence_t = incidence.T.tocsr()
        return TrackCooccurrence(
            items=items,
            item_playlists=item_playlists,
            item_artist=artist_codes,
            artists=np.asarray(list(self._artist_index), dtype=object),
            artist_playlists=np.asarray(artist_incidence.sum(axis=0)).ravel().astype(np.int32),
            catalogue_ids=self.catalogue_ids,
            counts=(incidence_t @ catalogue_incidence).tocsr(),
            # (incidence_t @ inv_len) first: its rows list playlists in the order the sums of
            # earlier releases ran in (a transient scaled copy of the incidence).
            length_weighted=(incidence_t @ inv_len @ catalogue_incidence).tocsr(),
            artist_counts=(artist_incidence.T @ catalogue_incidence).tocsr(),
            incidence=incidence,
            catalogue_incidence=catalogue_incidence,
            playlist_lengths=lengths.astype(np.int32),
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
