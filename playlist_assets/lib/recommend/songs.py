"""The song side of the recommender: every song of the base, indexed once per loaded base.

What a request reads per song (popularity, identity, genre, cluster, audio direction, artists,
album) is held as flat arrays and sparse indexes here, so a request touches only its candidates.
The classifier's and the cluster models' posteriors of a song are computed when the song first
seeds a playlist (features read them for a playlist's own songs only), except for small bases.
Recommenders that differ only in their co-occurrence share one ``SongTable``.

Few Python objects per song: a long-running service reloads the table hourly, and the allocator
cannot give back memory where requests allocated among a replaced table's objects. The text
columns are Arrow-backed, the ids the one column of Python strings, their lookup a pandas
``Index`` (a hash table in C arrays, not a dict of 353,000 ints at a year of fresh songs).
The songs, ids, posteriors and per-song codes are views of a ``growing.SongStore`` with room
for more songs: a fresh hour's songs are appended to it (``extend``), the new table shares it
with the old, and only what depends on every song is computed again for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playlist_assets.lib.recommend.cooccurrence import normalize_artist
from playlist_assets.lib.recommend.growing import TEXT, RowsColumn, SongStore, room_for
from playlist_assets.lib.recommend.metrics import OLD_SIMILARITY_FEATURES
from playlist_assets.lib.recommend.names import NEW_SONG_HOURS
from playlist_assets.lib.recommend.orders import with_added, with_entries
from playlist_assets.lib.recommend.song_codes import (
    ArtistCodes,
    KeyBook,
    artist_rows,
    identity_keys,
    normalized_keys,
)
from playlist_assets.lib.schema import CONTINUOUS_FEATURES

# Up to this many songs every song's posteriors are computed when the table is built (the
# sample and the real catalogue); above, when a song first seeds a playlist.
EAGER_POSTERIOR_SONGS = 50_000
AUDIO_CHUNK = 32_768  # songs whose audio directions are computed at a time

REQUIRED_SONG_COLUMNS: tuple[str, ...] = (
    "track_id",
    "track_name",
    "artists",
    "track_genre",
    "popularity",
    "cluster",
    *dict.fromkeys([*CONTINUOUS_FEATURES, *OLD_SIMILARITY_FEATURES]),
)
# ``new``: the song landed in the feed within NEW_SONG_HOURS (songs base column ``landed_at``).
RESULT_COLUMNS: tuple[str, ...] = (
    "track_id",
    "track_name",
    "artists",
    "track_genre",
    "cluster",
    "new",
    "score",
)


def text_as_arrow(songs: pd.DataFrame) -> pd.DataFrame:
    """``songs`` with its text columns Arrow-backed (built from a frame of Python strings:
    tests, the sample), so the table holds no Python string per song and column but the ids,
    each in one chunk (``take`` of a few rows from a chunked column concatenates it first:
    the base and its fresh songs come as two)."""
    out = songs.copy(deep=False)  # the other columns not copied (a year's base: 100 MiB)
    for c in songs.columns:
        values = songs[c]
        if values.dtype == object and pd.api.types.infer_dtype(values) in ("string", "empty"):
            values = values.astype(TEXT)
        if values.dtype == TEXT:
            chunks = pa.array(values.array)  # what it holds: one array, or chunks
            if isinstance(chunks, pa.ChunkedArray) and chunks.num_chunks > 1:
                values = pd.arrays.ArrowStringArray(chunks.combine_chunks())
        if values is not songs[c]:
            out[c] = values
    return out


def _unique_songs(songs: pd.DataFrame) -> pd.DataFrame:
    """The songs, first row per track id, indexed 0..n-1 (copied only when that changes them:
    a copy of a year's base costs seconds)."""
    dupes = songs["track_id"].duplicated()
    if dupes.any():
        songs = songs.loc[~dupes.to_numpy()]
    if not songs.index.equals(pd.RangeIndex(len(songs))):
        songs = songs.reset_index(drop=True)
    return songs


_THREADPOOLS: list[Any] = []  # the process's ThreadpoolController, made once


def one_thread() -> Any:
    """scikit-learn predictions on one OpenMP thread: spinning threads starve a busy 2-core box.

    The controller is made once: each ``threadpool_limits`` call scans the loaded libraries again
    (~20 ms, more than the prediction it wraps)."""
    if not _THREADPOOLS:
        from threadpoolctl import ThreadpoolController

        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1, user_api="openmp")


def genre_list(classifier: Any | None, genres: pd.Series) -> list[str]:
    """The genres posteriors are over: the classifier's, else the songs' own (sorted)."""
    if classifier is not None:
        return list(classifier.classes)
    _, labels = pd.factorize(genres.astype(TEXT))
    return sorted(str(g) for g in labels)


def song_store(songs: pd.DataFrame, classifier: Any | None) -> tuple[SongStore, list[str]]:
    """The songs' storage (one row per id, text Arrow-backed) and the genres posteriors are
    over: a caller holding the only other reference to ``songs`` can drop it before the table
    is built (``load``: a year's frame is ~100 MiB)."""
    absent = [c for c in REQUIRED_SONG_COLUMNS if c not in songs.columns]
    if absent:
        raise ValueError(f"songs base lacks column(s) {', '.join(absent)}")
    if songs.empty:
        raise ValueError("songs base is empty: nothing to recommend")
    songs = text_as_arrow(_unique_songs(songs))
    genres = genre_list(classifier, songs["track_genre"])
    return SongStore.of(songs, len(genres)), genres


class SongTable:
    """Every song of the base as arrays (catalogue order), built once per loaded base."""

    def __init__(
        self,
        songs: pd.DataFrame,
        classifier: Any | None = None,
        cluster_models: dict[str, Any] | None = None,
        *,
        now: pd.Timestamp | None = None,
    ) -> None:
        store, genres = song_store(songs, classifier)
        self._set_up(store, store.rows, classifier, cluster_models, genres, now)

    @classmethod
    def on(
        cls,
        store: SongStore,
        n: int,
        classifier: Any | None,
        cluster_models: dict[str, Any] | None,
        genres: list[str],
        now: pd.Timestamp | None = None,
        before: SongTable | None = None,
    ) -> SongTable:
        """The table of the first ``n`` songs of ``store`` (one extended by ``extend``)."""
        table = cls.__new__(cls)
        table._set_up(store, n, classifier, cluster_models, genres, now, before)
        return table

    def _set_up(
        self,
        store: SongStore,
        n: int,
        classifier: Any | None,
        cluster_models: dict[str, Any] | None,
        genres: list[str],
        now: pd.Timestamp | None,
        before: SongTable | None = None,
    ) -> None:
        """Views of the store's first ``n`` songs. What is per song is derived for the songs
        ``before`` (a table of the store's first songs) lacks and written to the store; what
        depends on all of them (the audio's centre and spread, the new flags) is computed anew,
        and the orders get the added songs inserted (``orders``)."""
        self.store, self.n = store, n
        self.songs = store.frame(n)
        self.source: Any = None  # what it was read from (``load.SongSource``), when loaded
        self.models_stamp: Any = None  # its models' files' (``reuse.stamp``), when loaded
        # the one column kept as Python strings: answers list them, and the requests remembered
        # for feedback then point at these objects rather than holding copies
        self.ids = store.ids[:n]
        start = 0 if before is None else before.n
        added = self.songs.iloc[start:]  # the songs whose per-song values this table writes
        popularity = added["popularity"].fillna(0).to_numpy(dtype=float)
        self.popularity = store.per_song("popularity", start, popularity)
        cluster = added["cluster"].fillna(-1).to_numpy(dtype=int)
        self.cluster = store.per_song("cluster", start, cluster)
        self._identities(added, start, before)
        self.new = self._new_flags(now)
        self._audio(added, start, before)
        self._genres(classifier, cluster_models, genres, added, before)
        self._artists(added, before)
        self._albums(added, before)
        old = None if before is None else before.by_popularity
        self.by_popularity = with_added(old, self.popularity, np.arange(start, n))

    # -- set-up -------------------------------------------------------------------------------

    def _identities(self, added: pd.DataFrame, start: int, before: SongTable | None) -> None:
        """Identity codes of the added songs by the store's book of identity keys: only their
        names and artists normalized (a year's took ~27 MiB of temporaries and ~1 CPU-s)."""
        keys = identity_keys(added["track_name"], added["artists"])
        size = 0 if before is None else before.identities
        book, codes = KeyBook.coded(self.store.books.get("identity"), size, keys)
        self.store.books["identity"] = book
        self.identity = self.store.per_song("identity", start, codes)
        self.identities = book.size  # the codes are dense: 0 .. identities - 1

    def _new_flags(self, now: pd.Timestamp | None) -> np.ndarray:
        """Whether each song landed within ``NEW_SONG_HOURS`` of ``now`` (computed anew for
        each table: time moves; on the column itself when it holds times, no copy of it)."""
        now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else pd.Timestamp(now)
        since = now - pd.Timedelta(hours=NEW_SONG_HOURS)
        column = self.songs.get("landed_at", pd.Series([pd.NaT] * self.n))
        if isinstance(column.dtype, np.dtype) and column.dtype.kind == "M":  # NaT: never new
            return column.to_numpy() >= since.to_datetime64()
        return (pd.to_datetime(column) >= since).to_numpy(dtype=bool)

    def _audio(self, added: pd.DataFrame, start: int, before: SongTable | None) -> None:
        """Unit directions of the standardized audio features; songs lacking a feature (the live
        Spotify feed) get a zero vector: neutral on audio similarity, no cluster posterior.
        The centre and spread are every song's, so the directions are computed anew for each
        table, a chunk of songs at a time (a whole year's float64 copies were ~100 MiB); the
        standardized features themselves only for the seeds of a request (``audio_z``)."""
        heard = np.ones(len(added), dtype=bool)
        for c in CONTINUOUS_FEATURES:
            heard &= ~np.isnan(added[c].to_numpy(dtype=float))
        self.has_audio = self.store.per_song("has_audio", start, heard)
        self._features = [self.songs[c].to_numpy() for c in CONTINUOUS_FEATURES]  # no copies
        if before is not None and before.n == self.n:  # the same songs (``reloaded``)
            self._centre, self._spread = before._centre, before._spread
            self.direction = before.direction
            return
        width = len(self._features)
        if self.has_audio.any():
            centre = np.array([np.nanmean(c.astype(float, copy=False)) for c in self._features])
            spread = np.array([np.nanstd(c.astype(float, copy=False)) for c in self._features])
        else:
            centre, spread = np.zeros(width), np.ones(width)
        self._centre = centre
        self._spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        self.direction = np.empty((self.n, width), dtype=np.float32)
        for first in range(0, self.n, AUDIO_CHUNK):
            last = min(first + AUDIO_CHUNK, self.n)
            z = self._z(slice(first, last))
            norms = np.linalg.norm(z, axis=1, keepdims=True)
            self.direction[first:last] = z / np.where(norms > 0, norms, 1.0)

    def _z(self, positions: np.ndarray | slice) -> np.ndarray:
        """The standardized audio features (float64) of the songs at ``positions``."""
        columns = [c[positions].astype(float) for c in self._features]
        return np.nan_to_num((np.column_stack(columns) - self._centre) / self._spread)

    def audio_z(self, positions: np.ndarray) -> np.ndarray:
        """The standardized audio features of the songs at ``positions`` (0 where lacking),
        computed when asked: a request reads only its seeds', and held for every song they
        were 12 MiB more per table, made again for each hour landed."""
        return self._z(np.asarray(positions, dtype=np.int64)).astype(np.float32)

    def _genres(
        self,
        classifier: Any | None,
        cluster_models: dict[str, Any] | None,
        genres: list[str],
        added: pd.DataFrame,
        before: SongTable | None,
    ) -> None:
        self.classifier = classifier
        self.cluster_models = dict(cluster_models or {})
        if before is not None and before.genres != genres:  # every song's genre code anew
            added, before = self.songs, None  # (into a buffer of its own: ``reloaded``)
        which, labels = pd.factorize(added["track_genre"].astype(TEXT))
        labels = [str(g) for g in labels]  # a song without a genre: -1
        self.genres = genres
        genre = np.append(pd.Index(self.genres).get_indexer(labels), -1)[which]
        start = self.n - len(added)
        self.genre = self.store.per_song("genre", start, genre)
        self.by_genre_popularity = [
            with_added(
                None if before is None else before.by_genre_popularity[g],
                self.popularity,
                start + np.flatnonzero(genre == g),
            )
            for g in range(len(self.genres))
        ]
        store = self.store
        self.posterior = store.posterior[: self.n]
        self.cluster_posterior = {g: p[: self.n] for g, p in store.cluster_posterior.items()}
        self._has_posteriors = store.has_posteriors[: self.n]
        self._lock = store.lock
        if classifier is None:  # a song's genre is its posterior: set for the songs lacking it
            with self._lock:
                known = np.flatnonzero((self.genre >= 0) & ~self._has_posteriors)
                self.posterior[known, self.genre[known]] = 1.0
        if self.n <= EAGER_POSTERIOR_SONGS:
            self.posteriors(np.arange(self.n))

    def _artists(self, added: pd.DataFrame, before: SongTable | None) -> None:
        """Each song's artists (the store's ``RowsColumn``) and each artist's songs, popular
        first; only the added songs' names normalized and coded (``song_codes``)."""
        store, start = self.store, self.n - len(added)
        size = 0 if before is None else len(before.artist_vocab)
        book, counts, codes = artist_rows(added["artists"], store.books.get("artists"), size)
        store.books["artists"] = book
        rows = store.parts.get("song_artists") or RowsColumn(store.capacity, room_for(len(codes)))
        store.parts["song_artists"] = rows = rows.appended(start, counts, codes)
        self.artist_vocab, self.artist_code = book.names[: book.size], ArtistCodes(book, book.size)
        ones = store.ones(
            "artists", int(rows.indptr[self.n])
        )  # as many entries as each matrix here
        self.song_artists = rows.matrix(self.n, book.size, ones)
        songs = np.repeat(np.arange(start, self.n), counts)
        shape = (book.size, self.n)
        old = None if before is None else before.artist_songs
        self.artist_songs = with_entries(old, codes, songs, self.popularity, shape, ones)

    def _albums(self, added: pd.DataFrame, before: SongTable | None) -> None:
        """Album code per song (the same casefold and spacing as artists; no album, or an empty
        name: -1) and each album's songs, popular first."""
        store, start = self.store, self.n - len(added)
        names = added.get("album_name", pd.Series([""] * len(added), dtype=object))
        keys, named = normalized_keys(names, normalize_artist)
        size = 0 if before is None else before.album_songs.shape[0]
        book, codes = KeyBook.coded(store.books.get("album"), size, keys, named)
        store.books["album"] = book
        self.album = store.per_song("album", start, codes)
        listed = np.flatnonzero(codes >= 0)
        songs, shape = start + listed, (book.size, self.n)
        old = None if before is None else before.album_songs
        ones = store.ones("albums", len(listed) + (0 if old is None else old.nnz))
        self.album_songs = with_entries(old, codes[listed], songs, self.popularity, shape, ones)

    # -- lookups ------------------------------------------------------------------------------

    def position(self, track_id: str) -> int:
        """Position of the song ``track_id``, -1 when the base does not hold it."""
        return self.store.index.position(track_id, self.n)

    def positions(self, track_ids: Iterable[str]) -> np.ndarray:
        """Positions of the given ids (those not in the base left out)."""
        found = [self.position(t) for t in track_ids]
        out = np.asarray(found, dtype=np.int64)
        return out[out >= 0]

    def display(self, positions: np.ndarray) -> pd.DataFrame:
        """The songs at ``positions`` as a recommendation lists them (``RESULT_COLUMNS`` but the
        score), indexed 0..k-1."""
        out = {"track_id": self.ids[positions]}
        for column in RESULT_COLUMNS[1:4]:
            out[column] = self.songs[column].array.take(positions).to_numpy(object, na_value=None)
        return pd.DataFrame({**out, "cluster": self.cluster[positions], "new": self.new[positions]})

    def artists_of(self, song: int) -> list[str]:
        """Normalised artist names of the song at ``song``."""
        start, end = self.song_artists.indptr[song], self.song_artists.indptr[song + 1]
        return self.artist_vocab[self.song_artists.indices[start:end]].tolist()

    def posteriors(self, positions: np.ndarray) -> None:
        """Compute the classifier and cluster posteriors of the songs at ``positions`` that lack
        them (songs without audio features get no cluster posterior). Thread-safe: requests of a
        served recommender may arrive on several threads."""
        with self._lock:
            todo = positions[~self._has_posteriors[positions]]
            if not len(todo):
                return
            with one_thread():
                if self.classifier is not None:
                    rows = self.songs.iloc[todo]
                    self.posterior[todo] = np.asarray(self.classifier.predict_proba(rows))
                heard = todo[self.has_audio[todo]]
                audio = self.songs.iloc[heard]  # taken once, not once per model
                for genre, model in self.cluster_models.items():
                    if genre not in self.genres or not len(heard):
                        continue
                    posterior = np.asarray(model.predict_proba(audio))
                    g = self.genres.index(genre)
                    if g not in self.cluster_posterior:
                        buffer = self.store.cluster_buffer(g, posterior.shape[1])
                        self.cluster_posterior[g] = buffer[: self.n]
                    self.cluster_posterior[g][heard] = posterior
            self._has_posteriors[todo] = True

    def posteriors_of(self, track_ids: Sequence[Sequence[str]]) -> None:
        """Compute at once the posteriors of every song of these playlists (evaluation and
        tuning: one batch is far cheaper than one small prediction per playlist)."""
        ids = {t for tracks in track_ids for t in tracks}
        self.posteriors(np.unique(self.positions(ids)))

    def warm_up(self, chunk: int = 20_000) -> None:
        """Compute every song's posteriors now, in chunks (a long-running server does this in the
        background before serving a new base; a request then never predicts a seed's)."""
        for start in range(0, self.n, chunk):
            self.posteriors(np.arange(start, min(start + chunk, self.n)))

    @property
    def max_components(self) -> int:
        return max((p.shape[1] for p in self.cluster_posterior.values()), default=1)
