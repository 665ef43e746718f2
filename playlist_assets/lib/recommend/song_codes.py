"""Codes of the songs' identities, artists and albums, each name normalized once per distinct value.

Codes are numbered in order of first appearance over the songs, so the codes of a table's songs
stay those of its first songs when songs are appended. The codebooks (``KeyBook``: a 64-bit key
per code, of the normalized name and artists or album; ``ArtistBook``: the artists' names) live
in the table's ``growing.SongStore`` and grow with it: an extended table (``extend``) normalizes
and codes only the added songs (normalizing a year's names again made ~27 MiB of temporaries
and ~1 CPU-s per hour landed), and a table reads the codes below its own count.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from playlist_assets.lib.recommend.cooccurrence import normalize_artist
from playlist_assets.lib.recommend.growing import TEXT, room_for

_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it permutes the 64-bit keys
_SCAN = 64  # keys looked up per pass over a book's keys (numpy compares them one by one)


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


def _artist_set(artists: str) -> str:
    return ";".join(sorted(normalize_artist(a) for a in artists.split(";")))


def normalized_keys(values: pd.Series, normalize: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per value, a 64-bit key of ``normalize`` of it and whether that is non-empty; equal
    names give equal keys, and two distinct names the same key with chance 2^-64 (a year's
    353,000 songs: ~3e-9 that any two do). ``normalize`` runs once per distinct value."""
    codes, uniques = pd.factorize(_text(values))
    done = np.asarray([normalize(u) for u in uniques], dtype=object)
    if not len(done):
        return np.zeros(len(codes), dtype=np.uint64), np.zeros(len(codes), dtype=bool)
    keys = pd.util.hash_array(done, categorize=False)
    filled = np.asarray([bool(d) for d in done], dtype=bool)
    return keys[codes], filled[codes]


def identity_keys(names: pd.Series, artists: pd.Series) -> np.ndarray:
    """Per song, a 64-bit key equal for the same normalized name and set of artists."""
    name, _ = normalized_keys(names, normalize_artist)
    artist, _ = normalized_keys(artists, _artist_set)
    return name * _MIX ^ artist  # uint64 arithmetic wraps


def song_identity(names: Any, artists: Any) -> np.ndarray:
    """Integer code per song: equal for the same normalised name and set of artists."""
    names, artists = (pd.Series(list(v), dtype=object) for v in (names, artists))
    return KeyBook.coded(None, 0, identity_keys(names, artists))[1]


class KeyBook:
    """The key of each code (dense, first seen first coded), with room for more: shared by the
    tables of a store, each reading the codes below its own count. Only a table holding all
    its codes appends (``coded``); any other gets a copy, as with the store's rows."""

    def __init__(self, keys: np.ndarray, capacity: int) -> None:
        self.keys = np.zeros(capacity, dtype=np.uint64)
        self.keys[: len(keys)] = keys
        self.size = len(keys)

    @staticmethod
    def coded(
        book: KeyBook | None, size: int, keys: np.ndarray, valid: np.ndarray | None = None
    ) -> tuple[KeyBook, np.ndarray]:
        """Codes of ``keys`` (-1 where not ``valid``) by the first ``size`` codes of ``book``,
        keys new to them coded after them in order of first appearance, and the book now
        holding them (``book`` itself when it can be appended to)."""
        valid = np.ones(len(keys), dtype=bool) if valid is None else valid
        asked = keys[valid]
        known = book.find(size, asked) if book is not None and size else np.full(len(asked), -1)
        new = known < 0
        local, fresh = pd.factorize(asked[new])
        known[new] = size + local
        end = size + len(fresh)
        if book is None or book.size != size or end > len(book.keys):
            book = KeyBook(book.keys[:size] if book is not None else fresh[:0], room_for(end))
        book.keys[size:end] = fresh
        book.size = end
        out = np.full(len(keys), -1, dtype=np.int64)
        out[valid] = known
        return book, out

    def find(self, size: int, keys: np.ndarray) -> np.ndarray:
        """The code of each key among the first ``size`` (-1: not among them). An hour's few
        keys are compared with the book's a few dozen at a time: no temporary the size of
        the book but one mask (sorting it with them, numpy's way for many keys, made ~20 MiB)."""
        have, distinct = self.keys[:size], np.unique(keys)
        if len(distinct) > 16 * _SCAN:  # many: one pass of numpy's sort-based lookup
            found = np.flatnonzero(np.isin(have, distinct))
        else:
            parts = [np.zeros(0, dtype=np.int64)]
            for start in range(0, len(distinct), _SCAN):
                parts.append(np.flatnonzero(np.isin(have, distinct[start : start + _SCAN])))
            found = np.concatenate(parts)
        out = np.full(len(keys), -1, dtype=np.int64)
        if len(found):
            order = np.argsort(have[found])
            sorted_keys, codes = have[found][order], found[order]
            at = np.minimum(np.searchsorted(sorted_keys, keys), len(codes) - 1)
            hit = sorted_keys[at] == keys
            out[hit] = codes[at[hit]]
        return out


class ArtistBook:
    """The normalized artist names in code order (with room) and each name's code, shared by
    the tables of a store like a ``KeyBook``; a table reads its own codes (``ArtistCodes``)."""

    def __init__(self, names: np.ndarray, capacity: int) -> None:
        self.names = np.empty(capacity, dtype=object)
        self.names[: len(names)] = names
        self.code = {name: i for i, name in enumerate(names)}
        self.size = len(names)

    @staticmethod
    def coded(book: ArtistBook | None, size: int, names: np.ndarray) -> tuple[ArtistBook, Any]:
        """The codes of the distinct ``names`` by the first ``size`` codes of ``book``, new ones
        coded after them in order, and the book now holding them (as ``KeyBook.coded``)."""
        if book is not None and book.size != size:
            book = ArtistBook(book.names[:size], room_for(size + len(names)))
        if book is None:
            book = ArtistBook(names[:0], room_for(len(names)))
        codes, new = np.empty(len(names), dtype=np.int64), []
        for i, name in enumerate(names):
            code = book.code.get(name, -1)
            if code < 0:
                code = size + len(new)
                new.append(name)
            codes[i] = code
        end = size + len(new)
        if end > len(book.names):
            book = ArtistBook(book.names[:size], room_for(end))
        book.names[size:end] = np.asarray(new, dtype=object).reshape(-1)
        book.code.update(zip(new, range(size, end), strict=True))
        book.size = end
        return book, codes


class ArtistCodes(Mapping[str, int]):
    """A table's artist codes: the names of an ``ArtistBook`` coded below the table's count
    (the book may hold more: the tables extended from it)."""

    def __init__(self, book: ArtistBook, size: int) -> None:
        self._code, self._names, self._size = book.code, book.names, size

    def __getitem__(self, name: str) -> int:
        code = self._code[name]
        if code >= self._size:
            raise KeyError(name)
        return code

    def get(self, name: str, default: Any = None) -> Any:
        code = self._code.get(name, -1)
        return code if 0 <= code < self._size else default

    def __contains__(self, name: object) -> bool:
        return 0 <= self._code.get(name, -1) < self._size  # type: ignore[call-overload]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names[: self._size].tolist())

    def __len__(self) -> int:
        return self._size


def artist_pairs(artists: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, code) of each (song, artist) pair and the artist names in code order (first seen,
    first code); each distinct artists string split and normalized once."""
    which, distinct = pd.factorize(_text(artists.reset_index(drop=True)))
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


def artist_rows(
    artists: pd.Series, book: ArtistBook | None, size: int
) -> tuple[ArtistBook, np.ndarray, np.ndarray]:
    """Each song's artist codes (by ``book``'s first ``size``, new names coded after them):
    the book, the count per song and the codes, sorted and distinct within a song (the rows of
    a 0/1 songs x artists matrix)."""
    rows, local, vocab = artist_pairs(artists)
    book, code_of = ArtistBook.coded(book, size, vocab)
    codes = code_of[local]
    order = np.lexsort((codes, rows))
    rows, codes = rows[order], codes[order]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (codes[1:] != codes[:-1])
    return book, np.bincount(rows[keep], minlength=len(artists)), codes[keep]


def zero_one(codes: np.ndarray, rows: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """A 0/1 rows x codes matrix (one entry per (row, code) pair)."""
    data = np.ones(len(rows), dtype=np.float32)
    out = sp.csr_matrix((data, (rows, codes)), shape=(n_rows, n_cols))
    out.sum_duplicates()
    out.data[:] = 1.0
    return out
