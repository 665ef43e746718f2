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
The songs, ids and posteriors are views of a ``growing.SongStore`` with room for more songs: a
fresh hour's songs are appended to it (``extend``) and the new table shares it with the old.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from playlist_assets.lib.recommend.cooccurrence import normalize_artist
from playlist_assets.lib.recommend.growing import TEXT, SongStore
from playlist_assets.lib.recommend.metrics import OLD_SIMILARITY_FEATURES
from playlist_assets.lib.recommend.names import NEW_SONG_HOURS
from playlist_assets.lib.recommend.song_codes import (
    album_codes,
    artist_index,
    normalized_codes,
    zero_one,
)
from playlist_assets.lib.schema import CONTINUOUS_FEATURES

# Up to this many songs every song's posteriors are computed when the table is built (the
# sample and the real catalogue); above, when a song first seeds a playlist.
EAGER_POSTERIOR_SONGS = 50_000

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


def _artist_set(artists: str) -> str:
    return ";".join(sorted(normalize_artist(a) for a in artists.split(";")))


def song_identity(names: Iterable[object], artists: Iterable[object]) -> np.ndarray:
    """Integer code per song: equal for the same normalised name and set of artists."""
    if not isinstance(names, pd.Series):
        names = pd.Series(list(names), dtype=object)
    if not isinstance(artists, pd.Series):
        artists = pd.Series(list(artists), dtype=object)
    name = normalized_codes(names.reset_index(drop=True), normalize_artist)
    artist = normalized_codes(artists.reset_index(drop=True), _artist_set)
    codes, _ = pd.factorize(name * (int(artist.max(initial=0)) + 1) + artist)
    return codes


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


def popular_first(matrix: sp.csr_matrix, popularity: np.ndarray) -> sp.csr_matrix:
    """``matrix`` (rows x songs) with each row's songs ordered most popular first, so the first
    entries of a row are its best-known songs (an artist of a year of fresh songs has thousands)."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -popularity[matrix.indices], rows))
    return sp.csr_matrix(
        (matrix.data[order], matrix.indices[order], matrix.indptr), shape=matrix.shape
    )


def _descending(key: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
    """Positions by ``key`` descending, ties in catalogue order."""
    positions = np.arange(len(key)) if positions is None else positions
    return positions[np.lexsort((positions, -key[positions]))]


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
        """Views of the store's first ``n`` songs, and what depends on all of them (computed
        anew for each table: an extension changes the audio's centre and spread, the orders)."""
        self.store, self.n = store, n
        self.songs = store.frame(n)
        self.source: Any = None  # what it was read from (``load.SongSource``), when loaded
        # the one column kept as Python strings: answers list them, and the requests remembered
        # for feedback then point at these objects rather than holding copies
        self.ids = store.ids[:n]
        self._index = pd.Index(self.ids, copy=False)  # id -> position: a hash table in C arrays
        self.popularity = self.songs["popularity"].fillna(0).to_numpy(dtype=float)
        self.identity = song_identity(self.songs["track_name"], self.songs["artists"])
        self.identities = int(self.identity.max()) + 1
        self.cluster = self.songs["cluster"].fillna(-1).to_numpy(dtype=int)
        self.new = self._new_flags(now)
        self._audio()
        self._genres(classifier, cluster_models, genres)
        self._artists_and_albums(before)
        self.by_popularity = _descending(self.popularity)

    # -- set-up -------------------------------------------------------------------------------

    def _new_flags(self, now: pd.Timestamp | None) -> np.ndarray:
        column = self.songs.get("landed_at", pd.Series([pd.NaT] * self.n))
        landed = pd.to_datetime(column)
        now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else pd.Timestamp(now)
        return (landed >= now - pd.Timedelta(hours=NEW_SONG_HOURS)).to_numpy(dtype=bool)

    def _audio(self, chunk: int = 32_768) -> None:
        """Unit directions of the standardized audio features; songs lacking a feature (the live
        Spotify feed) get a zero vector: neutral on audio similarity, no cluster posterior.
        Computed a chunk of songs at a time (a whole year's float64 copies were ~100 MiB)."""
        columns = [self.songs[c].to_numpy(dtype=float) for c in CONTINUOUS_FEATURES]
        self.has_audio = np.ones(self.n, dtype=bool)
        for values in columns:
            self.has_audio &= ~np.isnan(values)
        heard = self.has_audio.any()
        width = len(columns)
        centre = np.array([np.nanmean(c) for c in columns]) if heard else np.zeros(width)
        spread = np.array([np.nanstd(c) for c in columns]) if heard else np.ones(width)
        spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        self.z = np.empty((self.n, width), dtype=np.float32)
        self.direction = np.empty((self.n, width), dtype=np.float32)
        for start in range(0, self.n, chunk):
            end = min(start + chunk, self.n)
            features = np.column_stack([c[start:end] for c in columns])
            z = np.nan_to_num((features - centre) / spread)
            norms = np.linalg.norm(z, axis=1, keepdims=True)
            self.direction[start:end] = z / np.where(norms > 0, norms, 1.0)
            self.z[start:end] = z

    def _genres(
        self, classifier: Any | None, cluster_models: dict[str, Any] | None, genres: list[str]
    ) -> None:
        self.classifier = classifier
        self.cluster_models = dict(cluster_models or {})
        which, labels = pd.factorize(self.songs["track_genre"].astype(TEXT))
        labels = [str(g) for g in labels]  # a song without a genre: -1
        self.genres = genres
        self.genre = np.append(pd.Index(self.genres).get_indexer(labels), -1)[which]
        self.by_genre_popularity = [
            _descending(self.popularity, np.flatnonzero(self.genre == g))
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

    def _artists_and_albums(self, before: SongTable | None) -> None:
        """Artist and album indexes; with ``before`` (a table of this store's first songs),
        its codes kept and only the added songs' names normalized (``song_codes``)."""
        start = 0 if before is None else before.n
        artists = artist_index(
            self.songs["artists"].iloc[start:], None if before is None else before.artists
        )
        self.artists = artists
        self.artist_vocab, self.artist_code = artists.vocab, artists.code
        self.song_artists = artists.song_artists
        self.artist_songs = popular_first(self.song_artists.T.tocsr(), self.popularity)
        album = self.songs.get("album_name", pd.Series([""] * self.n))
        # the same casefold and spacing as artists; no album (or an empty name): -1
        self.album = album_codes(album, None if before is None else before.album)
        listed = np.flatnonzero(self.album >= 0)
        albums = zero_one(listed, self.album[listed], int(self.album.max()) + 1, self.n)
        self.album_songs = popular_first(albums, self.popularity)

    # -- lookups ------------------------------------------------------------------------------

    def position(self, track_id: str) -> int:
        """Position of the song ``track_id``, -1 when the base does not hold it."""
        try:
            return self._index.get_loc(track_id)
        except (KeyError, TypeError):
            return -1

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
