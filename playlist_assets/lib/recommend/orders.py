"""Orders of the songs that requests read from the front: by popularity (overall, per genre) and
each artist's and album's songs most popular first.

A loaded table sorts them in full. A table extended by an hour's songs (``extend``) inserts its
added songs where a full sort puts them: they come after every song the order holds, so each
goes after the songs it ties with and nothing else moves. The insert copies the order once
(sorting it again made ~3x its size in temporaries), and an order no added song joins (a genre,
an artist's songs) is the extended table's own, not a copy.
"""

from __future__ import annotations

import bisect

import numpy as np
import scipy.sparse as sp


def descending(key: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
    """Positions by ``key`` descending, ties in catalogue order."""
    positions = np.arange(len(key)) if positions is None else positions
    return positions[np.lexsort((positions, -key[positions]))]


def with_added(order: np.ndarray | None, key: np.ndarray, added: np.ndarray) -> np.ndarray:
    """``descending`` of ``order``'s positions (None: none) and ``added`` (each after all of
    ``order``'s), from ``order`` (``order`` itself when nothing is added)."""
    order = np.zeros(0, dtype=np.int64) if order is None else order
    if not len(added):
        return order
    added = added[np.lexsort((added, -key[added]))]
    if not len(order):  # a loaded table: all its songs
        return added
    at = [bisect.bisect_right(order, -key[p], key=lambda i: -key[i]) for p in added]
    return np.insert(order, np.asarray(at, dtype=np.int64), added)


def with_entries(
    matrix: sp.csr_matrix | None,
    rows: np.ndarray,
    cols: np.ndarray,
    popularity: np.ndarray,
    shape: tuple[int, int],
    ones: np.ndarray,
) -> sp.csr_matrix:
    """The 0/1 matrix of ``matrix``'s pairs (None: none) and the distinct (``rows``, ``cols``)
    pairs, each row's columns (songs) most popular first, ties by position: the first entries
    of a row are its best-known songs (an artist of a year of fresh songs has thousands). The
    added columns all come after ``matrix``'s (``shape``: rows for new codes, columns for the
    added songs); its entries are shared when nothing is added. ``ones``: the data, enough."""
    order = np.lexsort((cols, -popularity[cols], rows))
    rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=shape[0])
    if matrix is None:  # a loaded table: every pair, sorted
        indptr = np.zeros(shape[0] + 1, dtype=np.int32)
        np.cumsum(counts, out=indptr[1:])
        indices = cols.astype(np.int32)
    else:
        indices, indptr = _inserted(matrix, rows, cols, popularity, counts)
    return sp.csr_matrix((ones[: len(indices)], indices, indptr), shape=shape, copy=False)


def _inserted(
    matrix: sp.csr_matrix,
    rows: np.ndarray,
    cols: np.ndarray,
    popularity: np.ndarray,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``matrix``'s indices and index pointers with the sorted (``rows``, ``cols``) inserted
    (``counts``: per row, rows past ``matrix``'s at the end): one copy, no sort of it."""
    indptr = matrix.indptr
    if len(counts) > matrix.shape[0]:  # codes first seen in the added songs
        more = np.full(len(counts) - matrix.shape[0], indptr[-1], dtype=indptr.dtype)
        indptr = np.concatenate([indptr, more])
    if not len(rows):
        return matrix.indices, indptr

    def less_popular(j: int) -> float:
        return -popularity[j]

    at = [
        bisect.bisect_right(
            matrix.indices, -popularity[c], int(indptr[r]), int(indptr[r + 1]), key=less_popular
        )
        for r, c in zip(rows, cols, strict=True)
    ]
    indices = np.insert(matrix.indices, np.asarray(at, dtype=np.int64), cols)
    added = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=added[1:])
    return indices, (indptr + added).astype(matrix.indptr.dtype)
