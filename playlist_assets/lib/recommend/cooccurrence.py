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


def continuation_cases(
    playlists: pd.DataFrame,
    pids: Iterable[int],
    catalogue_ids: Iterable[str],
    *,
    min_catalogue_tracks: int = 5,
) -> list[Case]:
    """Cases for the given playlists: seeds = first half (every track, catalogue or not), targets =
    the distinct catalogue songs of the second half that are not already seeds.

    Only playlists with at least ``min_catalogue_tracks`` distinct catalogue songs and at least one
    target are kept (the real MPD extract shares few songs with the Kaggle catalogue).
    """
    catalogue = set(catalogue_ids)
    wanted = playlists[playlists["pid"].isin(set(pids))]
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
    playlists: pd.DataFrame, train_pids: Iterable[int], catalogue_ids: Sequence[str]
) -> TrackCooccurrence:
    """Count, over the given training playlists, which tracks appear with which catalogue songs."""
    train = playlists[playlists["pid"].isin(set(train_pids))]
    if train.empty:
        raise ValueError("no training playlists to learn co-occurrence from")
    track_ids = train["track_id"].astype(str).to_numpy()
    rows, _ = pd.factorize(train["pid"].to_numpy())
    cols, items = pd.factorize(track_ids)
    n_playlists, n_items = int(rows.max()) + 1, len(items)
    ones = np.ones(len(rows), dtype=np.float32)
    incidence = sp.csr_matrix((ones, (rows, cols)), shape=(n_playlists, n_items))
    incidence.sum_duplicates()
    incidence.data[:] = 1.0  # a track repeated in a playlist counts once

    catalogue_ids = np.asarray(catalogue_ids, dtype=object)
    in_items = pd.Index(items).get_indexer(catalogue_ids)
    known = np.flatnonzero(in_items >= 0)
    select = sp.csr_matrix(
        (np.ones(len(known), dtype=np.float32), (in_items[known], known)),
        shape=(n_items, len(catalogue_ids)),
    )
    catalogue_incidence = (incidence @ select).tocsr()
    lengths = np.asarray(incidence.sum(axis=1)).ravel()
    inv_len = sp.diags((1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32))
    incidence_t = incidence.T.tocsr()
    counts = (incidence_t @ catalogue_incidence).tocsr()
    length_weighted = (incidence_t @ inv_len @ catalogue_incidence).tocsr()

    first_artist = (
        pd.Series(train["artist_name"].astype(str).to_numpy(), index=track_ids)
        .groupby(level=0, sort=False)
        .first()
        .reindex(items)
    )
    artist_codes, artists = pd.factorize(first_artist.map(normalize_artist).to_numpy())
    artist_of_item = sp.csr_matrix(
        (np.ones(n_items, dtype=np.float32), (np.arange(n_items), artist_codes)),
        shape=(n_items, len(artists)),
    )
    artist_incidence = (incidence @ artist_of_item).tocsr()
    artist_incidence.data[:] = 1.0
    artist_counts = (artist_incidence.T @ catalogue_incidence).tocsr()

    return TrackCooccurrence(
        items=np.asarray(items, dtype=object),
        item_playlists=np.asarray(incidence.sum(axis=0)).ravel().astype(np.int32),
        item_artist=artist_codes.astype(np.int32),
        artists=np.asarray(artists, dtype=object),
        artist_playlists=np.asarray(artist_incidence.sum(axis=0)).ravel().astype(np.int32),
        catalogue_ids=catalogue_ids,
        counts=counts,
        length_weighted=length_weighted,
        artist_counts=artist_counts,
        incidence=incidence.tocsc(),
        catalogue_incidence=catalogue_incidence,
        playlist_lengths=lengths.astype(np.int32),
    )


COLD_SONG_SALT = "cold-songs"


def strip_songs(
    playlists: pd.DataFrame,
    catalogue_ids: Iterable[str],
    fraction: float = 0.2,
    salt: str = COLD_SONG_SALT,
) -> tuple[pd.DataFrame, frozenset[str]]:
    """The playlists without the rows of a share of the catalogue songs, and that share (of the
    catalogue songs the playlists hold: no other song has rows to strip).

    The cold slice: co-occurrence learned from what is left has no evidence of the stripped
    songs, as for a song that just landed; the evaluation then scores how well the recommender
    brings them back. The share is a keyed hash of each catalogue track id, so it depends on
    nothing the playlists hold.
    """
    if not 0 <= fraction < 1:
        raise ValueError("the stripped share of songs must lie within [0, 1)")
    catalogue = pd.Series(pd.unique(np.asarray(list(catalogue_ids), dtype=object)), dtype=object)
    # only songs some playlist holds can be stripped (hashing the whole base costs seconds)
    catalogue = catalogue[catalogue.isin(pd.unique(playlists["track_id"].astype(str)))]
    stripped = frozenset(catalogue[hash_unit(catalogue.astype(str), salt) < fraction].astype(str))
    keep = ~playlists["track_id"].astype(str).isin(stripped).to_numpy()
    return playlists.loc[keep], stripped
