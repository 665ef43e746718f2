"""Playlist continuation: given a playlist's tracks, rank catalogue songs that fit it.

One ``Recommender`` per process holds everything in memory (songs base, co-occurrence, models),
so a request is a handful of vectorised operations over the catalogue. Strategies:

- ``hybrid`` (default): a linear blend of co-occurrence signals learned from playlists (what
  people put together), artist and album affinity, audio-feature similarity, the genre
  classifier's and the cluster models' posteriors, playlist frequency and popularity. Songs with
  co-occurrence evidence rank first. A playlist none of whose tracks appear in the playlists data
  (cold start) is ranked with a second set of weights that needs no co-occurrence.
- ``cooccurrence``: summed co-occurrence counts with the seeds, popularity fill.
- ``frequent``: most frequent songs in the playlists data; ``popular``: catalogue popularity.
- ``cluster``: the old system, kept for comparison: mean audio features of the playlist -> the
  classifier's genre -> that genre's GaussianMixture cluster -> its songs. The old system returned
  them unordered; here they come in catalogue order, then the rest of the genre (also in catalogue
  order), then by popularity, so ranking metrics are defined and deterministic.

Every strategy: never a playlist track, never the same song twice (same normalised name and
artists under two ids), ties broken by popularity then catalogue order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from playlist_assets.lib.cooccurrence import Case, TrackCooccurrence, normalize_artist
from playlist_assets.lib.rec_metrics import OLD_SIMILARITY_FEATURES, feature_cosine, score_list
from playlist_assets.lib.schema import CONTINUOUS_FEATURES, TRACK_URI_PREFIX

STRATEGIES: tuple[str, ...] = ("hybrid", "cooccurrence", "frequent", "popular", "cluster")
DEFAULT_STRATEGY = "hybrid"
OLD_LIST_LENGTH = 20  # the old system returned at most 20 songs; its cosine score used them

# Hybrid features, each in [0, 1] (normalised per request where marked), in blend order.
FEATURES: tuple[str, ...] = (
    "cooc",  # log1p(summed co-occurrence with the seeds), / max
    "cooc_idf",  # co-occurrence, each seed weighted 1/sqrt(its playlist count), / max
    "cooc_length",  # same over playlists weighted 1/sqrt(playlist length), / max
    "cooc_recent",  # idf co-occurrence with later seeds weighted up to 4x, / max
    "cooc_max",  # max over the seeds of P(song | seed) in the training playlists
    "neighbours",  # songs of the training playlists most like this one (cosine^2), / max
    "frequency",  # log1p(playlists holding the song), / max over the catalogue
    "artist",  # shares an artist with a seed
    "artist_share",  # share of the seeds (artist known) by one of the song's artists
    "artist_cooc",  # co-occurrence with the seeds' artists, / max
    "album",  # same album (name) as a catalogue seed
    "audio",  # cosine of standardized audio features to the seeds' mean, mapped to [0, 1]
    "genre_share",  # share of the catalogue seeds in the song's genre
    "genre_posterior",  # classifier posterior of the song's genre, averaged over the seeds
    "cluster_posterior",  # genre posterior x the genre model's posterior of the song's cluster
    "popularity",  # catalogue popularity / 100
)
COOC_FEATURES: tuple[str, ...] = FEATURES[:6]
_COLUMN = {name: i for i, name in enumerate(FEATURES)}

# Used when a materialization has too few validation playlists to choose its own: fitted on
# 4 folds of the training playlists of the real MPD extract (benchmarks/bench_recommend.py
# --cv-defaults), a logistic regression of "is a held-back song" over songs with co-occurrence
# evidence. Coefficients of correlated co-occurrence signals offset each other; only the blend
# as a whole is meaningful.
DEFAULT_WEIGHTS: dict[str, float] = {
    "bias": -6.99,
    "cooc": 8.55,
    "cooc_idf": -12.12,
    "cooc_length": 4.78,
    "cooc_recent": 4.13,
    "cooc_max": 0.45,
    "neighbours": 1.86,
    "frequency": -2.42,
    "artist": 0.6,
    "artist_share": 3.28,
    "artist_cooc": 1.56,
    "album": -0.05,
    "audio": 0.04,
    "genre_share": 0.42,
    "genre_posterior": 0.06,
    "cluster_posterior": -0.01,
    "popularity": 0.58,
}
# The same fitted with the seeds hidden from the co-occurrence data (cold start).
DEFAULT_COLD_WEIGHTS: dict[str, float] = {
    "bias": -7.99,
    "frequency": 6.03,
    "artist": 1.37,
    "artist_share": 7.53,
    "artist_cooc": 6.18,
    "album": 2.45,
    "audio": 0.42,
    "genre_share": 1.14,
    "genre_posterior": 0.3,
    "cluster_posterior": 0.4,
    "popularity": 3.87,
}

# Integer-coded categories of the songs table (summarised by their most frequent value).
_CATEGORICAL = frozenset({"key", "mode", "time_signature", "explicit", "cluster"})
_TRACK_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_TRACK_URL = re.compile(r"open\.spotify\.com/(?:intl-[a-z]+/)?track/([0-9A-Za-z]{22})")

REQUIRED_SONG_COLUMNS: tuple[str, ...] = (
    "track_id",
    "track_name",
    "artists",
    "track_genre",
    "popularity",
    "cluster",
    *dict.fromkeys([*CONTINUOUS_FEATURES, *OLD_SIMILARITY_FEATURES]),
)
RESULT_COLUMNS: tuple[str, ...] = (
    "track_id",
    "track_name",
    "artists",
    "track_genre",
    "cluster",
    "score",
)


class NoUsableTracks(ValueError):
    """None of the playlist's tracks is in the songs base or the playlists data."""


def normalize_track_id(ref: object) -> str:
    """A bare Spotify track id from an id, a ``spotify:track:`` URI or an open.spotify.com URL."""
    text = str(ref).strip()
    if text.startswith(TRACK_URI_PREFIX):
        return text[len(TRACK_URI_PREFIX) :]
    match = _TRACK_URL.search(text)
    if match:
        return match.group(1)
    return text


def looks_like_track_id(text: str) -> bool:
    return bool(_TRACK_ID.match(text))


def song_identity(names: Iterable[object], artists: Iterable[object]) -> np.ndarray:
    """Integer code per song: equal for the same normalised name and set of artists."""
    keys = [
        " ".join(str(n).casefold().split())
        + "\x1f"
        + ";".join(sorted(normalize_artist(a) for a in str(a_list).split(";")))
        for n, a_list in zip(names, artists, strict=True)
    ]
    codes, _ = pd.factorize(pd.Series(keys, dtype=object))
    return codes


def _one_thread():
    """scikit-learn predictions on one OpenMP thread: spinning threads starve on a busy 2-core box."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _scaled(x: np.ndarray) -> np.ndarray:
    top = x.max() if x.size else 0.0
    return x / top if top > 0 else np.zeros_like(x)


@dataclass
class RecommendationResult:
    """Ranked songs (best first) and what was done with the input."""

    recommendations: pd.DataFrame
    strategy: str
    missing: list[str] = field(default_factory=list)  # input tracks not in the songs base
    unknown: list[str] = field(default_factory=list)  # in neither songs base nor playlists data
    cold_start: bool = False  # no input track appears in the co-occurrence data
    note: str | None = None

    @property
    def track_ids(self) -> list[str]:
        return self.recommendations["track_id"].tolist()


@dataclass
class _Seeds:
    ids: list[str]
    songs: np.ndarray  # catalogue positions of the seeds in the songs base
    items: np.ndarray  # rows of the co-occurrence data
    item_order: np.ndarray  # position of each of those seeds in the playlist
    artists: list[str]  # normalised artist names of the seeds, one vote per (seed, artist)
    voters: int  # seeds whose artist is known
    missing: list[str]
    unknown: list[str]


class Recommender:
    """Songs base + co-occurrence + models, loaded once; ``recommend`` answers requests."""

    def __init__(
        self,
        songs: pd.DataFrame,
        cooccurrence: TrackCooccurrence | None = None,
        classifier: Any | None = None,
        cluster_models: dict[str, Any] | None = None,
        *,
        weights: dict[str, float] | None = None,
        cold_weights: dict[str, float] | None = None,
    ) -> None:
        absent = [c for c in REQUIRED_SONG_COLUMNS if c not in songs.columns]
        if absent:
            raise ValueError(f"songs base lacks column(s) {', '.join(absent)}")
        if songs.empty:
            raise ValueError("songs base is empty: nothing to recommend")
        songs = songs.drop_duplicates("track_id").reset_index(drop=True)
        self.songs = songs
        self.n = len(songs)
        self.ids = songs["track_id"].astype(str).to_numpy(dtype=object)
        self._position = pd.Index(self.ids)
        self.popularity = songs["popularity"].fillna(0).to_numpy(dtype=float)
        self._order = np.arange(self.n)
        self._id_rank = np.argsort(np.argsort(self.ids.astype(str), kind="stable"), kind="stable")
        self._identity = song_identity(songs["track_name"].fillna(""), songs["artists"].fillna(""))
        self.cluster = songs["cluster"].fillna(-1).to_numpy(dtype=int)
        self._display = songs[list(RESULT_COLUMNS[:-1])].copy()

        features = songs[list(CONTINUOUS_FEATURES)].to_numpy(dtype=float)
        spread = features.std(axis=0)
        self._z = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        norms = np.linalg.norm(self._z, axis=1, keepdims=True)
        self._zn = self._z / np.where(norms > 0, norms, 1.0)
        old = songs[list(OLD_SIMILARITY_FEATURES)].to_numpy(dtype=float)
        span = old.max(axis=0) - old.min(axis=0)
        self._old_features = (old - old.min(axis=0)) / np.where(span > 0, span, 1.0)

        self.classifier = classifier
        self.cluster_models = dict(cluster_models or {})
        if classifier is not None:
            self.genres = list(classifier.classes)
            with _one_thread():
                self._song_posteriors = np.asarray(classifier.predict_proba(songs), dtype=float)
        else:
            self.genres = sorted(songs["track_genre"].astype(str).unique())
            self._song_posteriors = None
        self.genre = pd.Index(self.genres).get_indexer(songs["track_genre"].astype(str))
        if self._song_posteriors is None:
            self._song_posteriors = np.zeros((self.n, len(self.genres)))
            known = self.genre >= 0
            self._song_posteriors[np.flatnonzero(known), self.genre[known]] = 1.0
        # Every song's posterior under every genre's cluster model: a playlist's cluster
        # posterior in a genre is then the mean over its songs (no model call per request).
        self._cluster_posteriors: dict[int, np.ndarray] = {}
        with _one_thread():
            for genre, model in self.cluster_models.items():
                if genre in self.genres:
                    self._cluster_posteriors[self.genres.index(genre)] = np.asarray(
                        model.predict_proba(songs), dtype=float
                    )
        self._max_components = max(
            (p.shape[1] for p in self._cluster_posteriors.values()), default=1
        )

        artist_lists = [
            [normalize_artist(a) for a in str(s).split(";") if str(a).strip()]
            for s in songs["artists"].fillna("")
        ]
        pairs = [(i, a) for i, names in enumerate(artist_lists) for a in dict.fromkeys(names)]
        codes, self._artist_vocab = pd.factorize(pd.Series([a for _, a in pairs], dtype=object))
        self._artist_vocab = pd.Index(self._artist_vocab)
        self._song_artists = sp.csr_matrix(
            (np.ones(len(pairs)), ([i for i, _ in pairs], codes)),
            shape=(self.n, len(self._artist_vocab)),
        )
        self._song_artist_lists = artist_lists
        album = songs["album_name"] if "album_name" in songs.columns else pd.Series([""] * self.n)
        album = album.fillna("").astype(str).map(lambda s: " ".join(s.casefold().split()))
        self._album, _ = pd.factorize(album.where(album != "", None), use_na_sentinel=True)

        self.cooccurrence = cooccurrence
        self._attach(cooccurrence)
        self.weights = self._weight_vector(
            weights or (cooccurrence.weights if cooccurrence else None) or DEFAULT_WEIGHTS
        )
        self.cold_weights = self._weight_vector(
            cold_weights
            or (cooccurrence.cold_weights if cooccurrence else None)
            or DEFAULT_COLD_WEIGHTS
        )

    # -- set-up -------------------------------------------------------------------------------

    def _attach(self, cooc: TrackCooccurrence | None) -> None:
        """Align the co-occurrence columns with this songs base (songs may have changed since)."""
        if cooc is None:
            self._items = pd.Index([])
            self._counts = self._length_weighted = sp.csr_matrix((0, self.n), dtype=np.float32)
            self._artist_counts = sp.csr_matrix((0, self.n), dtype=np.float32)
            self._incidence = sp.csc_matrix((0, 0), dtype=np.float32)
            self._catalogue_incidence_t = sp.csr_matrix((self.n, 0), dtype=np.float32)
            self._item_playlists = np.zeros(0)
            self._item_artist = np.zeros(0, dtype=int)
            self._cooc_artists = pd.Index([])
            self._artist_playlists = np.zeros(0)
            self._playlist_norm = np.zeros(0)
            self.frequency = np.zeros(self.n)
            return
        old = pd.Index(cooc.catalogue_ids).get_indexer(self.ids)
        kept = np.flatnonzero(old >= 0)
        align = sp.csr_matrix(
            (np.ones(len(kept), dtype=np.float32), (old[kept], kept)),
            shape=(len(cooc.catalogue_ids), self.n),
        )
        self._items = pd.Index(cooc.items)
        self._counts = (cooc.counts @ align).tocsr()
        self._length_weighted = (cooc.length_weighted @ align).tocsr()
        self._artist_counts = (cooc.artist_counts @ align).tocsr()
        self._incidence = cooc.incidence.tocsc()
        catalogue_incidence = (cooc.catalogue_incidence @ align).tocsr()
        self._catalogue_incidence_t = catalogue_incidence.T.tocsr()
        self._item_playlists = cooc.item_playlists.astype(float)
        self._item_artist = cooc.item_artist
        self._cooc_artists = pd.Index(cooc.artists)
        self._artist_playlists = cooc.artist_playlists.astype(float)
        self._playlist_norm = 1.0 / np.sqrt(np.maximum(cooc.playlist_lengths, 1))
        self.frequency = np.asarray(catalogue_incidence.sum(axis=0)).ravel()

    @staticmethod
    def _weight_vector(weights: dict[str, float]) -> np.ndarray:
        unknown = set(weights) - set(FEATURES) - {"bias"}
        if unknown:
            raise ValueError(f"unknown blend weight(s): {', '.join(sorted(unknown))}")
        return np.array([weights.get("bias", 0.0)] + [weights.get(f, 0.0) for f in FEATURES])

    @property
    def blend_weights(self) -> dict[str, dict[str, float]]:
        names = ("bias", *FEATURES)
        return {
            "warm": dict(zip(names, map(float, self.weights), strict=True)),
            "cold": dict(zip(names, map(float, self.cold_weights), strict=True)),
        }

    # -- requests -----------------------------------------------------------------------------

    def _seeds(
        self,
        track_ids: Sequence[str],
        artists: Sequence[str | None] | None = None,
        use_items: bool = True,
    ) -> _Seeds:
        """Parse a playlist: ``artists``, when given, is each track's artist name (aligned)."""
        if artists is not None and len(artists) != len(track_ids):
            raise ValueError(
                f"artists must name one artist per track ({len(track_ids)}), got {len(artists)}"
            )
        given: dict[str, str | None] = {}
        for i, ref in enumerate(track_ids):
            if str(ref).strip():
                given.setdefault(
                    normalize_track_id(ref), artists[i] if artists is not None else None
                )
        ids = list(given)
        songs = self._position.get_indexer(ids)
        items = self._items.get_indexer(ids) if use_items else np.full(len(ids), -1)
        votes: list[str] = []
        voters = 0
        for track, song, item in zip(ids, songs, items, strict=True):
            if song >= 0:
                names = self._song_artist_lists[song]
            elif item >= 0 and self._item_artist[item] >= 0:
                names = [self._cooc_artists[self._item_artist[item]]]
            elif isinstance(given[track], str) and given[track].strip():
                names = [normalize_artist(given[track])]
            else:
                continue
            voters += 1
            votes.extend(names)
        return _Seeds(
            ids=ids,
            songs=songs[songs >= 0],
            items=items[items >= 0],
            item_order=np.flatnonzero(items >= 0),
            artists=votes,
            voters=voters,
            missing=[t for t, s in zip(ids, songs, strict=True) if s < 0],
            unknown=[t for t, s, i in zip(ids, songs, items, strict=True) if s < 0 and i < 0],
        )

    def _summary(self, seeds: _Seeds) -> pd.DataFrame:
        """The old system's playlist summary as a one-row songs table: the mean of the audio
        features; integer-coded categories, flags and text take their most frequent value."""
        rows = self.songs.iloc[seeds.songs]
        summary = {}
        for column in rows.columns:
            values = rows[column]
            if (
                column in _CATEGORICAL
                or not pd.api.types.is_numeric_dtype(values)
                or (pd.api.types.is_bool_dtype(values))
            ):
                mode = values.mode(dropna=True)
                summary[column] = [mode.iloc[0] if len(mode) else values.iloc[0]]
            elif pd.api.types.is_integer_dtype(values):
                summary[column] = [round(float(values.mean()))]
            else:
                summary[column] = [float(values.mean())]
        return pd.DataFrame(summary).astype(rows.dtypes.to_dict())

    def features(self, seeds: _Seeds) -> np.ndarray:
        """The hybrid's feature matrix (songs x FEATURES)."""
        out = np.zeros((self.n, len(FEATURES)))
        col = _COLUMN
        if len(seeds.items):
            rows = self._counts[seeds.items]
            playlists = np.maximum(self._item_playlists[seeds.items], 1.0)
            idf = 1.0 / np.sqrt(playlists)
            late = 1.0 + 3.0 * seeds.item_order / max(len(seeds.ids) - 1, 1)
            summed = rows.T @ np.column_stack([np.ones(len(idf)), idf, idf * late])
            out[:, col["cooc"]] = _scaled(np.log1p(summed[:, 0]))
            out[:, col["cooc_idf"]] = _scaled(summed[:, 1])
            out[:, col["cooc_recent"]] = _scaled(summed[:, 2])
            out[:, col["cooc_length"]] = _scaled(self._length_weighted[seeds.items].T @ idf)
            conditional = sp.diags(1.0 / playlists) @ rows
            out[:, col["cooc_max"]] = conditional.max(axis=0).toarray().ravel()
            overlap = np.asarray(self._incidence[:, seeds.items].sum(axis=1)).ravel()
            sims = overlap * self._playlist_norm / np.sqrt(len(seeds.items))
            out[:, col["neighbours"]] = _scaled(self._catalogue_incidence_t @ (sims * sims))
        if self.frequency.any():
            out[:, col["frequency"]] = np.log1p(self.frequency) / np.log1p(self.frequency.max())
        if seeds.artists:
            codes = self._artist_vocab.get_indexer(seeds.artists)
            if (codes >= 0).any():
                counts = np.bincount(codes[codes >= 0], minlength=len(self._artist_vocab))
                counts = counts.astype(float)
                out[:, col["artist"]] = np.minimum(self._song_artists @ (counts > 0), 1.0)
                out[:, col["artist_share"]] = np.minimum(
                    (self._song_artists @ counts) / max(seeds.voters, 1), 1.0
                )
            codes = self._cooc_artists.get_indexer(list(dict.fromkeys(seeds.artists)))
            codes = codes[codes >= 0]
            if len(codes):
                weight = 1.0 / np.sqrt(np.maximum(self._artist_playlists[codes], 1.0))
                out[:, col["artist_cooc"]] = _scaled(self._artist_counts[codes].T @ weight)
        if len(seeds.songs):
            albums = self._album[seeds.songs]
            albums = albums[albums >= 0]
            if len(albums):
                out[:, col["album"]] = np.isin(self._album, albums) & (self._album >= 0)
            centre = self._z[seeds.songs].mean(axis=0)
            norm = np.linalg.norm(centre)
            if norm > 0:
                out[:, col["audio"]] = 0.5 * (self._zn @ (centre / norm)) + 0.5
            known = self.genre >= 0
            seed_genres = self.genre[seeds.songs]
            share = np.bincount(seed_genres[seed_genres >= 0], minlength=len(self.genres))
            posterior = self._song_posteriors[seeds.songs].mean(axis=0)
            out[known, col["genre_share"]] = share[self.genre[known]] / len(seeds.songs)
            out[known, col["genre_posterior"]] = posterior[self.genre[known]]
            if self._cluster_posteriors:
                clusters = np.zeros((len(self.genres), self._max_components))
                for g, post in self._cluster_posteriors.items():
                    clusters[g, : post.shape[1]] = post[seeds.songs].mean(axis=0)
                ok = known & (self.cluster >= 0) & (self.cluster < clusters.shape[1])
                out[ok, col["cluster_posterior"]] = (
                    posterior[self.genre[ok]] * clusters[self.genre[ok], self.cluster[ok]]
                )
        out[:, col["popularity"]] = self.popularity / 100.0
        return out

    def hybrid_score(self, seeds: _Seeds, weights: np.ndarray) -> np.ndarray:
        """The blend in (0, 1); songs with co-occurrence evidence get +1 (they rank first)."""
        blend = _sigmoid(weights[0] + self.features(seeds) @ weights[1:])
        if len(seeds.items):
            return blend + (np.asarray(self._counts[seeds.items].sum(axis=0)).ravel() > 0)
        return blend

    def _score(self, strategy: str, seeds: _Seeds) -> tuple[np.ndarray, str | None]:
        """Higher is better; ties fall to popularity then catalogue order."""
        if strategy == "popular":
            return self.popularity.copy(), None
        if strategy == "frequent":
            return self.frequency.astype(float), None
        if strategy == "cooccurrence":
            if not len(seeds.items):
                note = "no playlist track is in the co-occurrence data: popularity order"
                return np.zeros(self.n), note
            return np.asarray(self._counts[seeds.items].sum(axis=0)).ravel().astype(float), None
        if strategy == "cluster":
            return self._old_cluster_score(seeds)
        if strategy == "hybrid":
            if len(seeds.items):
                return self.hybrid_score(seeds, self.weights), None
            note = "cold start: no playlist track is in the co-occurrence data"
            return self.hybrid_score(seeds, self.cold_weights), note
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")

    def _old_cluster_score(self, seeds: _Seeds) -> tuple[np.ndarray, str | None]:
        if self.classifier is None or not self.cluster_models:
            raise ValueError("the cluster strategy needs the genre classifier and cluster models")
        if not len(seeds.songs):
            note = "cluster: no playlist track in the songs base, popularity order"
            return self.popularity / 100.0, note
        summary = self._summary(seeds)
        with _one_thread():
            genre = str(self.classifier.predict(summary)[0])
            model = self.cluster_models.get(genre)
            if model is None:
                raise ValueError(f"no cluster model for the predicted genre {genre!r}")
            cluster = int(model.predict(summary)[0])
        # The old code took np.setdiff1d(cluster ids, playlist ids)[:20]: ascending track ids.
        by_id = 1.0 - self._id_rank / self.n  # in (0, 1], decreasing with the track id
        in_genre = self.songs["track_genre"].astype(str).to_numpy() == genre
        score = 0.5 * by_id + in_genre + (in_genre & (self.cluster == cluster))
        return score, f"cluster: genre {genre}, cluster {cluster}"

    def _select(self, score: np.ndarray, seeds: _Seeds, k: int) -> np.ndarray:
        """Top-k song positions: deterministic order, no seed, one id per song identity."""
        score = np.asarray(score, dtype=float).copy()
        blocked = np.isin(self._identity, self._identity[seeds.songs]) if len(seeds.songs) else None
        if blocked is not None:
            score[blocked] = -np.inf
        if len(seeds.songs):
            score[seeds.songs] = -np.inf
        available = int(np.isfinite(score).sum())
        want = min(k, available)
        pool = min(self.n, max(2 * want, want + 32))
        while True:
            if pool < self.n:
                # every song tied with the pool's last one competes on the tie-breakers
                cut = -np.partition(-score, pool - 1)[pool - 1]
                top = np.flatnonzero(score >= cut)
            else:
                top = self._order
            top = top[np.isfinite(score[top])]
            ranked = top[np.lexsort((top, -self.popularity[top], -score[top]))]
            _, first = np.unique(self._identity[ranked], return_index=True)
            chosen = ranked[np.sort(first)]
            if len(chosen) >= want or pool >= self.n:
                return chosen[:want]
            pool = min(self.n, pool * 2)

    def rank(
        self,
        track_ids: Sequence[str],
        k: int = 20,
        strategy: str = DEFAULT_STRATEGY,
        *,
        artists: Sequence[str | None] | None = None,
        allow_unknown: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, _Seeds, str | None]:
        """Positions in the songs base (best first), their scores, the parsed seeds and a note."""
        if strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if k < 1:
            raise ValueError(f"k must be a positive number of songs, got {k}")
        seeds = self._seeds(track_ids, artists)
        if not seeds.ids and not allow_unknown:
            raise NoUsableTracks("the playlist has no tracks")
        if seeds.ids and not len(seeds.songs) and not len(seeds.items) and not allow_unknown:
            raise NoUsableTracks(
                f"none of the playlist's {len(seeds.ids)} track(s) is in the songs base or the "
                "playlists data, so there is nothing to continue from"
            )
        score, note = self._score(strategy, seeds)
        chosen = self._select(score, seeds, k)
        return chosen, score[chosen], seeds, note

    def recommend(
        self,
        track_ids: Sequence[str],
        k: int = 20,
        strategy: str = DEFAULT_STRATEGY,
        *,
        artists: Sequence[str | None] | None = None,
        allow_unknown: bool = False,
    ) -> RecommendationResult:
        """Up to ``k`` songs continuing the playlist, best first (fewer only if the base is smaller).

        ``artists`` (optional) gives each track's artist name, aligned with ``track_ids`` (None
        where unknown): the hybrid then uses artist affinity even for tracks it never saw.
        ``allow_unknown`` answers (by popularity and frequency) instead of raising when no track
        is known, as batch mode does.
        """
        chosen, scores, seeds, note = self.rank(
            track_ids, k, strategy, artists=artists, allow_unknown=allow_unknown
        )
        table = self._display.iloc[chosen].reset_index(drop=True)
        table["score"] = np.round(scores, 6)
        return RecommendationResult(
            recommendations=table,
            strategy=strategy,
            missing=seeds.missing,
            unknown=seeds.unknown,
            cold_start=not len(seeds.items),
            note=note,
        )

    def old_similarity(self, seeds: Sequence[str], recommended: Sequence[int]) -> float:
        """The old system's cosine between the playlist's and its first 20 recommendations' means."""
        positions = self._position.get_indexer([normalize_track_id(t) for t in seeds])
        positions = positions[positions >= 0]
        return feature_cosine(
            self._old_features[positions],
            self._old_features[np.asarray(recommended)[:OLD_LIST_LENGTH]],
        )


# -- fitting the blend and evaluating -------------------------------------------------------------


MIN_FIT_CASES = 20  # fewer validation playlists than this: keep the defaults


def fit_blend_weights(
    folds: Iterable[tuple[Recommender, Sequence[Case]]],
    *,
    cold: bool = False,
    negatives: int = 50,
    regularization: float = 1.0,
    seed: int = 0,
) -> dict[str, float] | None:
    """Blend weights from validation playlists: a logistic regression of "is one of the playlist's
    held-back songs" on the features, over songs with co-occurrence evidence (``cold``: over every
    song, with the seeds hidden from the co-occurrence data).

    ``folds`` pairs a recommender whose co-occurrence was learned WITHOUT the cases' playlists
    with those cases. None with fewer than MIN_FIT_CASES cases or too few examples to fit.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    used = [i for i, f in enumerate(FEATURES) if not (cold and f in COOC_FEATURES)]
    xs, ys = [], []
    folds = [(r, list(c)) for r, c in folds]
    if sum(len(c) for _, c in folds) < MIN_FIT_CASES:
        return None
    for recommender, cases in folds:
        for case in cases:
            seeds = recommender._seeds(case.seeds, case.seed_artists, use_items=not cold)
            if not cold and not len(seeds.items):
                continue
            features = recommender.features(seeds)
            label = np.zeros(recommender.n, dtype=bool)
            targets = recommender._position.get_indexer(case.targets)
            label[targets[targets >= 0]] = True
            if cold:
                pool = np.ones(recommender.n, dtype=bool)
            else:
                pool = np.asarray(recommender._counts[seeds.items].sum(axis=0)).ravel() > 0
            pool[seeds.songs] = False
            positive = np.flatnonzero(pool & label)
            negative = np.flatnonzero(pool & ~label)
            if len(negative) > negatives:
                negative = rng.choice(negative, negatives, replace=False)
            rows = np.concatenate([positive, negative])
            xs.append(features[rows][:, used])
            ys.append(label[rows])
    if not xs:
        return None
    x, y = np.vstack(xs), np.concatenate(ys)
    if y.sum() < 10 or (~y).sum() < 10:
        return None
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=regularization, max_iter=5000).fit((x - scaler.mean_) / scale, y)
    coef = model.coef_[0] / scale
    weights = {"bias": float(model.intercept_[0] - (coef * scaler.mean_).sum())}
    weights.update({FEATURES[i]: float(c) for i, c in zip(used, coef, strict=True)})
    return weights


# Simple alternatives the fitted blend must beat on validation playlists to be used.
_BASELINE_WEIGHTS = {"co-occurrence only": {"cooc": 1.0}}
_BASELINE_COLD_WEIGHTS = {"frequency only": {"frequency": 1.0, "popularity": 0.01}}


@dataclass
class BlendChoice:
    """The blend weights chosen on validation playlists, and why."""

    weights: dict[str, float]
    source: str  # "fitted", "default" or a baseline's name
    validation_ndcg: dict[str, float]  # mean NDCG@500 of every candidate
    cases: int


def validation_ndcg(
    folds: Sequence[tuple[Recommender, Sequence[Case]]],
    weights: dict[str, float],
    *,
    cold: bool = False,
    k: int = 500,
) -> float:
    """Mean NDCG of the hybrid with ``weights`` over the cases (``cold``: co-occurrence hidden)."""
    from playlist_assets.lib.rec_metrics import ndcg

    vector = Recommender._weight_vector(weights)
    scores = []
    for recommender, cases in folds:
        for case in cases:
            seeds = recommender._seeds(case.seeds, case.seed_artists, use_items=not cold)
            if not cold and not len(seeds.items):
                continue
            chosen = recommender._select(recommender.hybrid_score(seeds, vector), seeds, k)
            scores.append(ndcg(recommender.ids[chosen].tolist(), case.targets))
    return float(np.mean(scores)) if scores else float("nan")


def choose_blend_weights(
    folds: Sequence[tuple[Recommender, Sequence[Case]]],
    *,
    cold: bool = False,
    include_defaults: bool = True,
) -> BlendChoice:
    """Fit the blend on validation playlists and keep it only if it ranks better than the
    defaults and a one-signal baseline there. The fitted blend is judged out of sample (fitted
    on half of the cases, scored on the other half, both ways); the others on every case.
    ``include_defaults=False`` leaves the code defaults out (they were fitted on the real
    extract's training playlists: leave them out when those may be held out)."""
    folds = [(r, list(c)) for r, c in folds]
    n_cases = sum(len(c) for _, c in folds)
    halves = [[(r, c[i::2]) for r, c in folds] for i in (0, 1)]
    fallback = DEFAULT_COLD_WEIGHTS if cold else DEFAULT_WEIGHTS
    candidates = {"default": fallback} if include_defaults else {}
    candidates.update(_BASELINE_COLD_WEIGHTS if cold else _BASELINE_WEIGHTS)
    scores = {name: validation_ndcg(folds, w, cold=cold) for name, w in candidates.items()}
    fitted_halves = [fit_blend_weights(h, cold=cold) for h in halves]
    if all(w is not None for w in fitted_halves):
        crossed = [
            validation_ndcg(halves[1 - i], w, cold=cold) for i, w in enumerate(fitted_halves)
        ]
        if not any(np.isnan(crossed)):
            scores["fitted"] = float(np.mean(crossed))
    ranked = sorted(
        (name for name in scores if not np.isnan(scores[name])),
        key=lambda name: (-scores[name], name != "fitted"),
    )
    best = ranked[0] if ranked else "default"
    if best == "fitted":
        weights = fit_blend_weights(folds, cold=cold) or dict(fallback)
    else:
        weights = dict(candidates.get(best, fallback))
    return BlendChoice(weights=weights, source=best, validation_ndcg=scores, cases=n_cases)


def evaluate(
    recommender: Recommender,
    cases: Sequence[Case],
    strategies: Sequence[str] = STRATEGIES,
    *,
    k: int = 500,
    use_artists: bool = True,
    hide_cooccurrence: bool = False,
) -> pd.DataFrame:
    """One row per (case, strategy): RecSys 2018 metrics, the old cosine score, cold-start flag.

    ``hide_cooccurrence`` simulates cold start: the seeds are withheld from the co-occurrence data.
    """
    rows = []
    for case in cases:
        artists = case.seed_artists if use_artists else None
        for strategy in strategies:
            if hide_cooccurrence:
                seeds = recommender._seeds(case.seeds, artists, use_items=False)
                score, _ = recommender._score(strategy, seeds)
                chosen = recommender._select(score, seeds, k)
            else:
                chosen, _, seeds, _ = recommender.rank(
                    case.seeds, k, strategy, artists=artists, allow_unknown=True
                )
            ids = recommender.ids[chosen].tolist()
            row = {"pid": case.pid, "strategy": strategy, "cold_start": not len(seeds.items)}
            row.update(score_list(ids, case.targets))
            row["cosine"] = recommender.old_similarity(case.seeds, chosen)
            rows.append(row)
    return pd.DataFrame(rows)


def summarize(per_case: pd.DataFrame) -> pd.DataFrame:
    """Mean metric per strategy (in STRATEGIES order) and the number of playlists scored."""
    metrics = ["r_precision", "ndcg", "clicks", "hit_at_10", "hit_at_100", "cosine"]
    if per_case.empty:
        return pd.DataFrame(columns=["strategy", "playlists", *metrics])
    table = per_case.groupby("strategy", sort=False)[metrics].mean()
    table.insert(0, "playlists", per_case.groupby("strategy", sort=False).size())
    order = [s for s in STRATEGIES if s in table.index]
    return table.loc[order].reset_index()


# -- building and loading ---------------------------------------------------------------------------


def load_recommender(data_home: str | Path | None = None) -> Recommender:
    """The recommender of the current materialization: ``song_index`` from the DuckDB warehouse
    (opened read-only), ``track_cooccurrence`` and the models from the models folder.
    """
    import duckdb

    from playlist_assets import settings
    from playlist_assets.lib.artifacts import (
        ArtifactMissing,
        load_artifact,
        load_classifier,
        load_cluster_models,
    )

    if data_home is None:
        warehouse, models = settings.warehouse_path(), settings.models_dir()
    else:
        warehouse, models = Path(data_home) / "warehouse.duckdb", Path(data_home) / "models"
    if not warehouse.exists():
        raise ArtifactMissing(f"no warehouse at {warehouse}: materialize song_index first")
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            songs = con.execute("SELECT * FROM main.song_index").df()
    except duckdb.CatalogException as exc:
        raise ArtifactMissing(
            f"asset song_index not found in {warehouse}: materialize it first"
        ) from exc
    cooc_path = models / "track_cooccurrence"
    if not cooc_path.exists():
        raise ArtifactMissing(
            f"asset track_cooccurrence not found at {cooc_path}: materialize it first"
        )
    cooccurrence = load_artifact(cooc_path, "track_cooccurrence")
    return Recommender(
        songs,
        cooccurrence,
        load_classifier(models),
        load_cluster_models(models),
    )
