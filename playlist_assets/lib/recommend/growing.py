"""Per-song storage with room to grow, shared by a song table and the tables extended from it.

A service reloads its songs whenever a ``fresh_songs`` hour lands: ~40 songs onto 353,000 at a
year of fresh songs. Loading the whole song side again beside the one still serving held two of
them (a reload's memory peak ~2x one recommender). So the songs frame's columns, the ids, the
posteriors and what a table derives per song (``per_song``: popularity, identity, genre, album
codes; each song's artists, ``RowsColumn``) live in buffers of ``capacity`` rows, of which a
table reads views of its first ``n``: a table extended by ``m`` songs writes rows ``n..n+m``,
which no table of ``n`` rows reads, and both tables then hold the same memory (the spare rows
are never touched until written, so they cost address space, not memory). The ids' lookup
(``IdIndex``) is likewise shared: an extension adds its ids, it does not hash them all again.
When the room runs out (``HEADROOM``: at 960 songs a day, every ~5 weeks at a year of fresh
songs), the extension copies into buffers with room again, and the replaced table keeps its own
until it is freed.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

HEADROOM = 0.10  # spare rows (and text bytes), as a share of what is held
MIN_SPARE = 1024  # spare rows at least (small bases: tests, the sample)
TEXT = pd.StringDtype("pyarrow")


def room_for(n: int) -> int:
    """The capacity given to ``n`` rows (or bytes)."""
    return n + max(int(n * HEADROOM), MIN_SPARE)


class TextColumn:
    """An Arrow ``large_string`` column over numpy buffers: offsets, bytes and validity bits,
    each with room; ``array(n)`` is the first ``n`` strings, built without a copy."""

    def __init__(self, rows: int, size: int) -> None:
        self.offsets = np.zeros(rows + 1, dtype=np.int64)
        self.data = np.empty(size, dtype=np.uint8)
        self.valid = np.zeros((rows + 7) // 8, dtype=np.uint8)

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    def fits(self, n: int, values: pa.Array) -> bool:
        used = int(self.offsets[n]) + _text_bytes(values)
        return n + len(values) <= self.rows and used <= len(self.data)

    def write(self, n: int, values: pa.Array) -> None:
        """Strings ``n..n+len(values)`` (rows below ``n`` untouched: their readers go on)."""
        values = values.cast(pa.large_string())
        m = len(values)
        if not m:
            return
        _, offsets, data = values.buffers()
        got = np.frombuffer(offsets, dtype=np.int64)[values.offset : values.offset + m + 1]
        start = int(self.offsets[n])
        body = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        self.data[start : start + int(got[-1] - got[0])] = body[got[0] : got[-1]]
        self.offsets[n + 1 : n + m + 1] = got[1:] - got[0] + start
        bits = np.zeros(n % 8 + m, dtype=bool)  # from the byte holding row n
        bits[n % 8 :] = values.is_valid().to_numpy(zero_copy_only=False)
        first = n // 8
        packed = np.packbits(bits, bitorder="little")
        keep = self.valid[first] & np.uint8((1 << (n % 8)) - 1)  # rows before n, as they were
        packed[0] = (packed[0] & ~np.uint8((1 << (n % 8)) - 1)) | keep
        self.valid[first : first + len(packed)] = packed

    def array(self, n: int) -> pd.api.extensions.ExtensionArray:
        buffers = [
            pa.py_buffer(self.valid[: (n + 7) // 8]),
            pa.py_buffer(self.offsets[: n + 1]),
            pa.py_buffer(self.data[: int(self.offsets[n])]),
        ]
        values = pa.Array.from_buffers(pa.large_string(), n, buffers)
        return pd.arrays.ArrowStringArray(pa.chunked_array([values], pa.large_string()))


def _text_bytes(values: pa.Array) -> int:
    values = values.cast(pa.large_string())
    if not len(values):
        return 0
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)
    return int(offsets[values.offset + len(values)] - offsets[values.offset])


def _arrow(values: pd.Series) -> pa.Array:
    chunks = pa.array(values.array)
    return chunks.combine_chunks() if isinstance(chunks, pa.ChunkedArray) else chunks


class IdIndex:
    """Song positions by id: a pandas ``Index`` (a hash table in C arrays, built on first use)
    of the ids a store was made with, and a dict of the ids appended since. Hashing every id
    again per extension (~8 MiB) also wrote into each id string (its reference count), copying
    the pages a forked ranking process shares with the service (~27 MiB at a year)."""

    def __init__(self, ids: np.ndarray, rows: int) -> None:
        self._ids, self._rows = ids, rows
        self._base: pd.Index | None = None
        self.added: dict[str, int] = {}

    def position(self, track_id: Any, n: int) -> int:
        """Position of ``track_id`` among the first ``n`` songs, -1 when not among them."""
        if self._base is None:
            self._base = pd.Index(self._ids[: self._rows], copy=False)
        try:
            at = self._base.get_loc(track_id)
        except (KeyError, TypeError):
            try:
                at = self.added.get(track_id, -1)
            except TypeError:  # unhashable
                return -1
        return int(at) if isinstance(at, (int, np.integer)) and at < n else -1


class RowsColumn:
    """Per song, a sorted list of codes (a 0/1 songs x codes CSR matrix: each song's artists),
    with room for more songs and entries; ``matrix(n, ...)`` is a view of the first ``n``."""

    def __init__(self, rows: int, entries: int) -> None:
        self.indptr = np.zeros(rows + 1, dtype=np.int32)
        self.indices = np.zeros(entries, dtype=np.int32)
        self.rows = 0

    def appended(self, n: int, counts: np.ndarray, codes: np.ndarray) -> RowsColumn:
        """Rows ``n..`` written (``counts`` entries each; ``codes`` in row order): here when no
        table reads past ``n`` and there is room, else into a copy with room."""
        end = int(self.indptr[n]) + len(codes)
        out = self
        if self.rows != n or n + len(counts) >= len(self.indptr) or end > len(self.indices):
            out = RowsColumn(room_for(n + len(counts)), room_for(end))
            out.indptr[: n + 1] = self.indptr[: n + 1]
            out.indices[: self.indptr[n]] = self.indices[: self.indptr[n]]
        out.indices[out.indptr[n] : end] = codes
        out.indptr[n + 1 : n + len(counts) + 1] = out.indptr[n] + np.cumsum(counts)
        out.rows = n + len(counts)
        return out

    def matrix(self, n: int, codes: int, data: np.ndarray) -> sp.csr_matrix:
        """The first ``n`` rows over ``codes`` columns; ``data``: ones, at least as many."""
        nnz = int(self.indptr[n])
        parts = (data[:nnz], self.indices[:nnz], self.indptr[: n + 1])
        return sp.csr_matrix(parts, shape=(n, codes), copy=False)


class SongStore:
    """The songs frame's columns (numpy buffers, ``TextColumn`` for Arrow strings), the ids (one
    Python string each), the posteriors and what tables derive per song (``per_song``,
    ``parts``, ``books``: the codes of names, ``song_codes``), with room for ``capacity`` rows.
    ``rows``: how many are written; only a table of that many rows may be extended in place."""

    def __init__(self, songs: pd.DataFrame, genres: int, capacity: int) -> None:
        self.capacity = capacity
        self.columns: dict[str, Any] = {}
        for name in songs.columns:
            values = songs[name]
            if values.dtype == TEXT:
                used = _text_bytes(_arrow(values))
                per_row = max(used / max(len(songs), 1), 32.0)  # spare bytes for the spare rows
                spare = int(1.5 * per_row * (capacity - len(songs)))
                self.columns[name] = TextColumn(capacity, used + spare)
            else:  # numpy columns as they are; any other kind as Python objects
                dtype = values.dtype if isinstance(values.dtype, np.dtype) else np.dtype(object)
                self.columns[name] = np.empty(capacity, dtype=dtype)
        self.ids = np.empty(capacity, dtype=object)
        self.index = IdIndex(self.ids, len(songs))
        self.posterior = np.zeros((capacity, genres), dtype=np.float32)
        self.cluster_posterior: dict[int, np.ndarray] = {}
        self.has_posteriors = np.zeros(capacity, dtype=bool)
        self.lock = threading.Lock()  # posteriors of every table on this store
        self.derived: dict[str, np.ndarray] = {}
        self.parts: dict[str, RowsColumn] = {}
        self.books: dict[str, Any] = {}  # appended under their own rule (``song_codes``)
        self._ones: dict[str, np.ndarray] = {}
        self.rows = 0
        self._write(songs)

    @classmethod
    def of(cls, songs: pd.DataFrame, genres: int) -> SongStore:
        return cls(songs, genres, room_for(len(songs)))

    def frame(self, n: int) -> pd.DataFrame:
        """The first ``n`` songs as a frame of views (no column copied)."""
        columns = {
            name: buffer.array(n) if isinstance(buffer, TextColumn) else buffer[:n]
            for name, buffer in self.columns.items()
        }
        return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)

    def per_song(self, name: str, start: int, values: np.ndarray) -> np.ndarray:
        """``values`` written as rows ``start..`` of the buffer ``name`` (made on first use),
        and the view of its rows up to them: what a table derives per song, written once."""
        if name not in self.derived:
            self.derived[name] = np.zeros(self.capacity, dtype=values.dtype)
        buffer = self.derived[name]
        buffer[start : start + len(values)] = values
        return buffer[: start + len(values)]

    def ones(self, kind: str, n: int) -> np.ndarray:
        """``n`` float32 ones: the data of the tables' 0/1 matrices of a ``kind`` (artists,
        albums), one buffer for all of them. One per kind: scipy copies a view of less than
        half its buffer (``prune``), and the kinds differ in size."""
        if len(self._ones.get(kind, ())) < n:
            self._ones[kind] = np.ones(room_for(n), dtype=np.float32)
        return self._ones[kind][:n]

    def cluster_buffer(self, genre: int, components: int) -> np.ndarray:
        """The cluster posteriors of ``genre`` (made on first use; under ``lock``)."""
        if genre not in self.cluster_posterior:
            shape = (self.capacity, components)
            self.cluster_posterior[genre] = np.zeros(shape, dtype=np.float32)
        return self.cluster_posterior[genre]

    def sibling(self, genres: int, *, keep_genre: bool) -> SongStore:
        """A store of the same songs for other models (``SongTable.reloaded``): this one's
        columns, ids, per-song codes, parts and books shared; posteriors over ``genres`` (and,
        unless ``keep_genre``, the genre codes) of its own. The room to append in place passes
        to it: two stores writing past the same rows of shared buffers would clash, so this
        one's tables, which read only their own rows, append into copies from now on."""
        store = copy.copy(self)
        store.posterior = np.zeros((self.capacity, genres), dtype=np.float32)
        store.cluster_posterior = {}
        store.has_posteriors = np.zeros(self.capacity, dtype=bool)
        store.lock = threading.Lock()
        store.derived = {k: v for k, v in self.derived.items() if keep_genre or k != "genre"}
        store.parts, store.books, store._ones = dict(self.parts), dict(self.books), {**self._ones}
        self.rows = -1
        return store

    def extended(self, n: int, rows: pd.DataFrame) -> SongStore | None:
        """A store of ``n`` + ``rows`` songs: this one, written past ``n``, when it has room and
        no table holds more than ``n`` of its rows, else a copy with room; None when ``rows``
        do not have the columns and types of these songs (a full load decides then)."""
        if set(rows.columns) != set(self.columns):
            return None
        rows = rows[list(self.columns)]
        for name, buffer in self.columns.items():
            dtype = rows[name].dtype
            if isinstance(buffer, TextColumn):
                if dtype != TEXT:
                    return None
            elif dtype == TEXT or np.result_type(buffer.dtype, dtype) != buffer.dtype:
                return None  # a full load's concatenation would change the column's type
        m = len(rows)
        room = self.rows == n and n + m <= self.capacity
        room = room and all(
            b.fits(n, _arrow(rows[c])) for c, b in self.columns.items() if isinstance(b, TextColumn)
        )
        store = self if room else self._copy(n, m)
        store._write(rows, n)
        return store

    def _copy(self, n: int, m: int) -> SongStore:
        store = SongStore(self.frame(n), self.posterior.shape[1], room_for(n + m))
        store.ids[:n] = self.ids[:n]
        store.posterior[:n] = self.posterior[:n]
        store.has_posteriors[:n] = self.has_posteriors[:n]
        for genre, values in self.cluster_posterior.items():
            store.cluster_buffer(genre, values.shape[1])[:n] = values[:n]
        for name, values in self.derived.items():
            store.per_song(name, 0, values[:n])
        store.parts, store.books = dict(self.parts), dict(self.books)  # they copy themselves
        return store

    def _write(self, rows: pd.DataFrame, n: int = 0) -> None:
        m = len(rows)
        for name, buffer in self.columns.items():
            if isinstance(buffer, TextColumn):
                buffer.write(n, _arrow(rows[name]))
            else:
                buffer[n : n + m] = rows[name].to_numpy(dtype=buffer.dtype)
        ids = rows["track_id"].astype(str).to_numpy(dtype=object)
        self.ids[n : n + m] = ids
        if n:  # appended: the ids made with the store are in its index already
            self.index.added.update(zip(ids, range(n, n + m), strict=True))
        self.rows = n + m
