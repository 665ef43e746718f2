"""Co-occurrence aligned with a songs base: what the playlists say about each song.

``track_cooccurrence`` is learned against the songs of its day; the base may have changed since
(a retrain, fresh songs). ``Evidence`` maps its catalogue columns onto the base's positions once,
when a recommender is built, and answers per request only for the playlist's own seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from playlist_assets.lib.recommend.cooccurrence import TrackCooccurrence
from playlist_assets.lib.recommend.growing import room_for
from playlist_assets.lib.recommend.orders import descending


class Evidence:
    """``TrackCooccurrence`` with its catalogue columns aligned to ``n`` songs of a base."""

    def __init__(
        self, cooc: TrackCooccurrence | None, ids: np.ndarray, before: Evidence | None = None
    ) -> None:
        self.cooccurrence = cooc
        n = len(ids)
        if before is not None and _only_appended(cooc, before, ids):
            self._widen(before, n)
        elif cooc is None:
            self.item: dict[str, int] = {}
            empty = sp.csr_matrix((0, n), dtype=np.float32)
            self.counts = self.length_weighted = self.artist_counts = empty
            self.feedback_counts = self.feedback_length_weighted = None
            self.playlist_items = sp.csc_matrix((0, 0), dtype=np.float32)
            self.playlist_songs = sp.csr_matrix((0, n), dtype=np.float32)
            self.item_playlists = np.zeros(0)
            self.item_artist = np.zeros(0, dtype=int)
            self.artist_code: dict[str, int] = {}
            self.artist_names = np.zeros(0, dtype=object)
            self.artist_playlists = np.zeros(0)
            self.playlist_norm = np.zeros(0)
            self._room(np.zeros(n))
        else:
            self._align(cooc, ids)
        self.top_frequency = float(self.frequency.max()) if len(self.frequency) else 0.0

    def _align(self, cooc: TrackCooccurrence, ids: np.ndarray) -> None:
        old = pd.Index(cooc.catalogue_ids).get_indexer(ids)
        kept = np.flatnonzero(old >= 0)
        align = sp.csr_matrix(
            (np.ones(len(kept), dtype=np.float32), (old[kept], kept)),
            shape=(len(cooc.catalogue_ids), len(ids)),
        )
        self.item = {t: i for i, t in enumerate(cooc.items)}
        self.counts = (cooc.counts @ align).tocsr()
        self.length_weighted = (cooc.length_weighted @ align).tocsr()
        fed, fed_weighted = cooc.feedback_counts, cooc.feedback_length_weighted
        self.feedback_counts = None if fed is None else (fed @ align).tocsr()
        self.feedback_length_weighted = None if fed is None else (fed_weighted @ align).tocsr()
        # each artist's songs ordered by how many playlists hold both (candidates take the first)
        counts = (cooc.artist_counts @ align).tocsr()
        self.artist_counts = _strongest_first(counts)
        self.playlist_items = cooc.incidence.tocsc()
        self.playlist_songs = (cooc.catalogue_incidence @ align).tocsr()
        self.item_playlists = cooc.item_playlists.astype(float)
        self.item_artist = cooc.item_artist
        self.artist_names = np.asarray(cooc.artists, dtype=object)
        self.artist_code = {a: i for i, a in enumerate(self.artist_names)}
        self.artist_playlists = cooc.artist_playlists.astype(float)
        self.playlist_norm = 1.0 / np.sqrt(np.maximum(cooc.playlist_lengths, 1))
        self._room(np.asarray(self.playlist_songs.sum(axis=0)).ravel())

    def _room(self, frequency: np.ndarray) -> None:
        """``frequency`` and its order (``by_frequency``), each a view of a buffer with room:
        songs appended later are in no playlist (frequency 0: the buffer's zeros) and come last
        in the order, by position (the buffer's ``arange``), so a widened alignment's are views
        of the same buffers, not copies (``_widen``)."""
        n, capacity = len(frequency), room_for(len(frequency))
        self._frequencies = np.zeros(capacity, dtype=frequency.dtype)
        self._frequencies[:n] = frequency
        self._order = np.arange(capacity)
        self._order[:n] = descending(frequency)
        self.frequency, self.by_frequency = self._frequencies[:n], self._order[:n]

    def _widen(self, before: Evidence, n: int) -> None:
        """``before``'s alignment, widened to ``n`` songs: the songs added after its own are not
        in the catalogue, so their columns are empty (the matrices' arrays are shared) and
        their frequency 0 (the buffers of ``_room``, while they have room)."""
        vars(self).update(vars(before))
        for name in _SONG_COLUMNS:
            matrix = getattr(before, name)
            if matrix is not None:
                shape = (matrix.shape[0], n)
                setattr(
                    self, name, sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape)
                )
        if n <= len(before._frequencies):
            self.frequency, self.by_frequency = before._frequencies[:n], before._order[:n]
        else:
            added = np.zeros(n - len(before.frequency), dtype=before.frequency.dtype)
            self._room(np.concatenate([before.frequency, added]))

    def items(self, track_ids: list[str]) -> np.ndarray:
        """Rows of the given tracks (-1 where the playlists data never saw them)."""
        return np.asarray([self.item.get(t, -1) for t in track_ids], dtype=np.int64)


# the matrices with a column per song of the base
_SONG_COLUMNS = (
    "counts",
    "length_weighted",
    "feedback_counts",
    "feedback_length_weighted",
    "artist_counts",
    "playlist_songs",
)


def _only_appended(cooc: TrackCooccurrence | None, before: Evidence, ids: np.ndarray) -> bool:
    """Whether ``ids`` are ``before``'s songs followed by songs the catalogue does not hold."""
    if cooc is not before.cooccurrence or len(ids) < len(before.frequency):
        return False
    if cooc is None:
        return True
    added = ids[len(before.frequency) :]
    return not pd.Index(cooc.catalogue_ids).isin(added).any() if len(added) else True


def _strongest_first(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """``matrix`` with each row's entries ordered by value, largest first."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    return sp.csr_matrix(
        (matrix.data[order], matrix.indices[order], matrix.indptr), shape=matrix.shape
    )
