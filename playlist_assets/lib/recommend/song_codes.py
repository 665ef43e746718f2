"""Codes of the songs' names, artists and albums, each name normalized once per distinct value.

Codes are numbered in order of first appearance over the songs, so the codes of a table's songs
stay those of its first songs when songs are appended: an extended table (``extend``) keeps the
artist and album codes of the table it extends and normalizes only the added songs' names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from playlist_assets.lib.recommend.cooccurrence import normalize_artist
from playlist_assets.lib.recommend.growing import TEXT


def _text(values: pd.Series) -> pd.Series:
    """``values`` as Arrow-backed strings, missing ones empty: no Python string per song (a
    column the loader read as Arrow is returned as is)."""
    return values.astype(TEXT).fillna("")


def _normalized(values: pd.Series, normalize: Any) -> pd.Series:
    """``normalize`` of each value, computed once per distinct value (a base of fresh songs
    repeats its artists and albums thousands of times)."""
    codes, uniques = pd.factorize(_text(values))
    done = np.asarray([normalize(u) for u in uniques], dtype=object)
    return pd.Series(done[codes] if len(done) else [], index=values.index, dtype=object)


def normalized_codes(values: pd.Series, normalize: Any, *, empty: bool = True) -> np.ndarray:
    """Integer code per value, equal for equal ``normalize`` of it (first seen, first code);
    without ``empty``, -1 where that is "". One Python string per distinct value, not per song."""
    codes, uniques = pd.factorize(_text(values))
    done = [normalize(u) for u in uniques]
    same, _ = pd.factorize(np.asarray([d if d or empty else None for d in done], dtype=object))
    return np.append(same, -1)[codes]  # codes are never -1 here: missing values are ""


def zero_one(codes: np.ndarray, rows: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """A 0/1 rows x codes matrix (one entry per (row, code) pair)."""
    data = np.ones(len(rows), dtype=np.float32)
    out = sp.csr_matrix((data, (rows, codes)), shape=(n_rows, n_cols))
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


@dataclass(frozen=True)
class ArtistIndex:
    """Each song's normalized artists: their names (code order), code of each name, and the
    songs x artists 0/1 matrix."""

    vocab: np.ndarray
    code: dict[str, int]
    song_artists: sp.csr_matrix


def _artist_pairs(artists: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, code) of each (song, artist) pair and the artist names in code order (first seen,
    first code); each distinct artists string split and normalized once."""
    which, distinct = pd.factorize(_text(artists))
    parts = pd.Series(distinct, dtype=object).str.split(";")
    counts = parts.str.len().to_numpy(dtype=np.int64)
    flat = _normalized(parts.explode(), normalize_artist).to_numpy(dtype=object)
    piece, vocab = pd.factorize(np.where(flat == "", None, flat), use_na_sentinel=True)
    per_song = counts[which]
    rows = np.repeat(np.arange(len(artists)), per_song)
    first = (np.cumsum(counts) - counts)[which]
    within = np.arange(len(rows)) - np.repeat(np.cumsum(per_song) - per_song, per_song)
    codes = piece[np.repeat(first, per_song) + within]
    keep = codes >= 0
    return rows[keep], codes[keep], np.asarray(vocab, dtype=object)


def artist_index(artists: pd.Series, before: ArtistIndex | None = None) -> ArtistIndex:
    """The ``ArtistIndex`` of songs whose artists are ``artists``; with ``before``, of
    ``before``'s songs followed by these (its codes kept, new names coded after them)."""
    rows, codes, vocab = _artist_pairs(artists.reset_index(drop=True))
    if before is None:
        code = {a: i for i, a in enumerate(vocab)}
        return ArtistIndex(vocab, code, zero_one(codes, rows, len(artists), len(vocab)))
    code, added = dict(before.code), []
    local = np.empty(len(vocab), dtype=np.int64)
    for i, name in enumerate(vocab):
        if name not in code:
            code[name] = len(before.vocab) + len(added)
            added.append(name)
        local[i] = code[name]
    names = np.concatenate([before.vocab, np.asarray(added, dtype=object).reshape(-1)])
    old, tail = before.song_artists, zero_one(local[codes], rows, len(artists), len(names))
    matrix = sp.csr_matrix(
        (
            np.concatenate([old.data, tail.data]),
            np.concatenate([old.indices, tail.indices]),
            np.concatenate([old.indptr, tail.indptr[1:] + old.nnz]),
        ),
        shape=(old.shape[0] + len(artists), len(names)),
    )
    return ArtistIndex(names, code, matrix)


def album_codes(albums: pd.Series, before: np.ndarray | None = None) -> np.ndarray:
    """Album code per song (-1: none, or an empty name), equal for equal normalized names;
    with ``before`` (the codes of the first songs), only the songs after them coded."""
    if before is None:
        return normalized_codes(albums, normalize_artist, empty=False)
    codes, firsts = np.unique(before, return_index=True)
    listed = codes >= 0
    names = _text(albums.iloc[firsts[listed]])
    known = {normalize_artist(a): int(c) for a, c in zip(names, codes[listed], strict=True)}
    which, distinct = pd.factorize(_text(albums.iloc[len(before) :]))
    local = np.full(len(distinct), -1, dtype=np.int64)
    for i, value in enumerate(distinct):
        name = normalize_artist(value)
        if name:
            local[i] = known.setdefault(name, len(known))
    return np.concatenate([before, local[which]]).astype(before.dtype)
