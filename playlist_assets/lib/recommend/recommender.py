"""Playlist continuation: given a playlist's tracks, rank catalogue songs that fit it.

One ``Recommender`` per process holds everything in memory (songs base, co-occurrence, models),
so a request is a handful of vectorised operations over the catalogue. Strategies:

- ``hybrid`` (default): learned blends of co-occurrence signals (what people put together),
  artist and album affinity, audio-feature similarity, the genre classifier's and the cluster
  models' posteriors, playlist frequency and popularity (see ``features``). Songs the
  playlists data holds are scored by the warm blend, the others (fresh songs, songs no playlist
  holds yet) by the cold-song blend plus a learned offset; below a head of the best-evidenced
  songs, a cold song that fits well outranks a weakly-evidenced one. A playlist none of whose
  tracks is in the playlists data (cold start) is ranked by the cold-start blend.
- ``cooccurrence``: summed co-occurrence counts with the seeds, popularity fill.
- ``frequent``: most frequent songs in the playlists data; ``popular``: catalogue popularity;
  ``random``: a fixed shuffle (the evaluation's floor).
- ``cluster``: the old system, kept for comparison: mean audio features of the playlist -> the
  classifier's genre -> that genre's GaussianMixture cluster -> its songs. The old system returned
  them unordered; here they come in catalogue order, then the rest of the genre (also in catalogue
  order), then by popularity, so ranking metrics are defined and deterministic.

Every strategy: never a playlist track, never the same song twice (same normalised name and
artists under two ids), ties broken by popularity then catalogue order. Songs lacking audio
features (the live Spotify feed) are ranked from what they carry. The class is one unit (its
set-up and the feature computation share the aligned arrays), hence the module's length.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from playlist_assets.lib.constants import TRACK_ID_CHARS, TRACK_ID_PATTERN
from playlist_assets.lib.recommend.cooccurrence import TrackCooccurrence, normalize_artist
from playlist_assets.lib.recommend.features import (
    COLUMN,
    DEFAULT_COLD_SONG_HEAD,
    DEFAULT_COLD_SONG_OFFSET,
    DEFAULT_COLD_SONG_WEIGHTS,
    DEFAULT_COLD_WEIGHTS,
    DEFAULT_WEIGHTS,
    FEATURES,
    scaled,
    sigmoid,
    weight_dict,
    weight_vector,
)
from playlist_assets.lib.recommend.metrics import OLD_SIMILARITY_FEATURES, feature_cosine
from playlist_assets.lib.recommend.names import DEFAULT_STRATEGY, NEW_SONG_HOURS, STRATEGIES
from playlist_assets.lib.schema import CONTINUOUS_FEATURES, TRACK_URI_PREFIX

# Up to this many songs, every song's posteriors are computed when the recommender is built (the
# tuning and evaluation pool: 10,000); above, when a song first seeds a playlist (predicting all
# of a year's 353,405 songs made loading the recommender take 30 s).
EAGER_POSTERIOR_SONGS = 50_000
OLD_LIST_LENGTH = 20  # the old system returned at most 20 songs; its cosine score used them

# Integer-coded categories of the songs table (summarised by their most frequent value).
_CATEGORICAL = frozenset({"key", "mode", "time_signature", "explicit", "cluster"})
_TRACK_ID = re.compile(TRACK_ID_PATTERN)
_TRACK_URL = re.compile(rf"open\.spotify\.com/(?:intl-[a-z]+/)?track/({TRACK_ID_CHARS})")

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


def _most_frequent(values: pd.Series, key: pd.Series, groups: int) -> np.ndarray:
    """Per group of ``key`` (0..groups-1), the most frequent value (ties: the smallest; a group
    of missing values only: missing)."""
    counts = (
        pd.DataFrame({"group": key, "value": values})
        .dropna()
        .value_counts(sort=False)
        .rename("n")
        .reset_index()
        .sort_values(["group", "n", "value"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("group")
    )
    out = np.full(groups, None, dtype=object)
    out[counts["group"].to_numpy()] = counts["value"].to_numpy(dtype=object)
    return out


def _one_thread():
    """scikit-learn predictions on one OpenMP thread: spinning threads starve on a busy 2-core box."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


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
class Seeds:
    """A parsed playlist: its tracks found in the songs base and in the co-occurrence data."""

    ids: list[str]
    songs: np.ndarray  # catalogue positions of the seeds in the songs base
    items: np.ndarray  # rows of the co-occurrence data
    item_order: np.ndarray  # position of each of those seeds in the playlist
    artists: list[str]  # normalised artist names of the seeds, one vote per (seed, artist)
    voters: int  # seeds whose artist is known
    missing: list[str]
    unknown: list[str]


def head_first(
    score: np.ndarray, evidence: np.ndarray, seeds: Seeds, head: int, lift: float = 1.0
) -> np.ndarray:
    """``score`` with the best ``head`` songs with evidence (never a seed) lifted by ``lift``."""
    if head <= 0:
        return score
    candidates = np.flatnonzero(evidence)
    candidates = candidates[~np.isin(candidates, seeds.songs)]
    if len(candidates) > head:
        candidates = candidates[np.argpartition(-score[candidates], head - 1)[:head]]
    lifted = score.copy()
    lifted[candidates] += lift
    return lifted


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
        cold_song_weights: dict[str, float] | None = None,
        cold_song_offset: float | None = None,
        cold_song_head: int | None = None,
        now: pd.Timestamp | None = None,
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
        self._identities = int(self._identity.max()) + 1
        self.cluster = songs["cluster"].fillna(-1).to_numpy(dtype=int)
        landed = pd.to_datetime(
            songs["landed_at"] if "landed_at" in songs.columns else pd.Series([pd.NaT] * self.n)
        )
        now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else pd.Timestamp(now)
        self.new = (landed >= now - pd.Timedelta(hours=NEW_SONG_HOURS)).to_numpy(dtype=bool)
        self._display = songs[list(RESULT_COLUMNS[:4])].assign(cluster=self.cluster, new=self.new)

        # Songs without audio features (the live Spotify feed) are neutral on audio similarity
        # (a zero vector) and get no cluster posterior; everything else still applies.
        features = songs[list(CONTINUOUS_FEATURES)].to_numpy(dtype=float)
        self.has_audio = ~np.isnan(features).any(axis=1)
        spread = np.nanstd(features, axis=0) if self.has_audio.any() else np.ones(features.shape[1])
        centre = np.nanmean(features, axis=0) if self.has_audio.any() else 0.0
        spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        self._z = np.nan_to_num((features - centre) / spread)
        norms = np.linalg.norm(self._z, axis=1, keepdims=True)
        self._zn = self._z / np.where(norms > 0, norms, 1.0)
        old = songs[list(OLD_SIMILARITY_FEATURES)].to_numpy(dtype=float)
        low = np.nan_to_num(np.nanmin(old, axis=0)) if self.has_audio.any() else 0.0
        span = np.nan_to_num(np.nanmax(old, axis=0)) - low if self.has_audio.any() else 1.0
        self._old_features = np.nan_to_num((old - low) / np.where(span > 0, span, 1.0))

        self.classifier = classifier
        self.cluster_models = dict(cluster_models or {})
        if classifier is not None:
            self.genres = list(classifier.classes)
        else:
            self.genres = sorted(songs["track_genre"].astype(str).unique())
        self.genre = pd.Index(self.genres).get_indexer(songs["track_genre"].astype(str))
        # Per song: the classifier's genre posterior and its posterior under every genre's
        # cluster model. Features read them for a playlist's own songs only, so a large base
        # computes a song's the first time it seeds a playlist (``_posteriors``).
        self._song_posteriors = np.zeros((self.n, len(self.genres)))
        self._cluster_posteriors: dict[int, np.ndarray] = {}
        self._has_posteriors = np.zeros(self.n, dtype=bool)
        if classifier is None:
            known = self.genre >= 0
            self._song_posteriors[np.flatnonzero(known), self.genre[known]] = 1.0
        if self.n <= EAGER_POSTERIOR_SONGS:
            self._posteriors(np.arange(self.n))

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

        self._blend(
            cooccurrence,
            weights=weights,
            cold_weights=cold_weights,
            cold_song_weights=cold_song_weights,
            cold_song_offset=cold_song_offset,
            cold_song_head=cold_song_head,
        )

    def _posteriors(self, positions: np.ndarray) -> None:
        """Compute the classifier and cluster posteriors of the songs at ``positions`` that lack
        them (songs without audio features get no cluster posterior)."""
        todo = positions[~self._has_posteriors[positions]]
        if not len(todo):
            return
        with _one_thread():
            if self.classifier is not None:
                rows = self.songs.iloc[todo]
                self._song_posteriors[todo] = np.asarray(
                    self.classifier.predict_proba(rows), dtype=float
                )
            heard = todo[self.has_audio[todo]]
            for genre, model in self.cluster_models.items():
                if genre not in self.genres or not len(heard):
                    continue
                posterior = np.asarray(model.predict_proba(self.songs.iloc[heard]), dtype=float)
                g = self.genres.index(genre)
                if g not in self._cluster_posteriors:
                    self._cluster_posteriors[g] = np.zeros((self.n, posterior.shape[1]))
                self._cluster_posteriors[g][heard] = posterior
        self._has_posteriors[todo] = True

    @property
    def _max_components(self) -> int:
        return max((p.shape[1] for p in self._cluster_posteriors.values()), default=1)

    def with_cooccurrence(
        self, cooccurrence: TrackCooccurrence | None, **blend: Any
    ) -> Recommender:
        """The same songs and models with other co-occurrence data (and blend, as ``__init__``
        takes it): tuning and evaluation learn several, and the songs side (posteriors,
        clusters, identities, artists) is most of building a recommender."""
        other = copy.copy(self)
        other._blend(cooccurrence, **blend)
        return other

    def _blend(
        self,
        cooccurrence: TrackCooccurrence | None,
        *,
        weights: dict[str, float] | None = None,
        cold_weights: dict[str, float] | None = None,
        cold_song_weights: dict[str, float] | None = None,
        cold_song_offset: float | None = None,
        cold_song_head: int | None = None,
    ) -> None:
        """Attach ``cooccurrence`` and set the blends: given ones, else learned ones, else the
        defaults."""
        self.cooccurrence = cooccurrence
        self._attach(cooccurrence)
        learned = cooccurrence.tuning if cooccurrence else {}
        self.weights = weight_vector(
            weights or (cooccurrence.weights if cooccurrence else None) or DEFAULT_WEIGHTS
        )
        self.cold_weights = weight_vector(
            cold_weights
            or (cooccurrence.cold_weights if cooccurrence else None)
            or DEFAULT_COLD_WEIGHTS
        )
        self.cold_song_weights = weight_vector(
            cold_song_weights or learned.get("cold_song_weights") or DEFAULT_COLD_SONG_WEIGHTS
        )
        offset = learned.get("cold_song_offset", DEFAULT_COLD_SONG_OFFSET)
        self.cold_song_offset = float(offset if cold_song_offset is None else cold_song_offset)
        head = learned.get("cold_song_head", DEFAULT_COLD_SONG_HEAD)
        self.cold_song_head = int(head if cold_song_head is None else cold_song_head)

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

    @property
    def blend_weights(self) -> dict[str, dict[str, float]]:
        """Every blend's weights by name (``cold_song`` holds the offset too)."""
        return {
            "warm": weight_dict(self.weights),
            "cold": weight_dict(self.cold_weights),
            "cold_song": {
                **weight_dict(self.cold_song_weights),
                "offset": self.cold_song_offset,
                "head": float(self.cold_song_head),
            },
        }

    # -- requests -----------------------------------------------------------------------------

    def seeds(
        self,
        track_ids: Sequence[str],
        artists: Sequence[str | None] | None = None,
        use_items: bool = True,
    ) -> Seeds:
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
        return Seeds(
            ids=ids,
            songs=songs[songs >= 0],
            items=items[items >= 0],
            item_order=np.flatnonzero(items >= 0),
            artists=votes,
            voters=voters,
            missing=[t for t, s in zip(ids, songs, strict=True) if s < 0],
            unknown=[t for t, s, i in zip(ids, songs, items, strict=True) if s < 0 and i < 0],
        )

    def summary(self, seeds: Seeds) -> pd.DataFrame:
        """The old system's playlist summary as a one-row songs table (``summaries``)."""
        return self.summaries([seeds])

    def summaries(self, many: Sequence[Seeds]) -> pd.DataFrame:
        """The old system's summary of each playlist, one row each in order, as a songs table: the
        mean of the audio features; integer-coded categories, flags and text take their most
        frequent value (ties: the smallest). Every playlist must hold a song of the base."""
        rows = self.songs.iloc[np.concatenate([s.songs for s in many])].reset_index(drop=True)
        key = pd.Series(np.repeat(np.arange(len(many)), [len(s.songs) for s in many]))
        summary = {}
        for column in rows.columns:
            values = rows[column]
            if (
                column in _CATEGORICAL
                or not pd.api.types.is_numeric_dtype(values)
                or pd.api.types.is_bool_dtype(values)
            ):
                summary[column] = _most_frequent(values, key, len(many))
            elif pd.api.types.is_integer_dtype(values):
                summary[column] = values.groupby(key).mean().round().to_numpy()
            else:
                summary[column] = values.groupby(key).mean().to_numpy(dtype=float)
        return pd.DataFrame(summary).astype(rows.dtypes.to_dict())

    def features(self, seeds: Seeds) -> np.ndarray:
        """The hybrid's feature matrix (songs x FEATURES)."""
        out = np.zeros((self.n, len(FEATURES)))
        col = COLUMN
        if len(seeds.items):
            rows = self._counts[seeds.items]
            playlists = np.maximum(self._item_playlists[seeds.items], 1.0)
            idf = 1.0 / np.sqrt(playlists)
            late = 1.0 + 3.0 * seeds.item_order / max(len(seeds.ids) - 1, 1)
            summed = rows.T @ np.column_stack([np.ones(len(idf)), idf, idf * late])
            out[:, col["cooc"]] = scaled(np.log1p(summed[:, 0]))
            out[:, col["cooc_idf"]] = scaled(summed[:, 1])
            out[:, col["cooc_recent"]] = scaled(summed[:, 2])
            out[:, col["cooc_length"]] = scaled(self._length_weighted[seeds.items].T @ idf)
            conditional = sp.diags(1.0 / playlists) @ rows
            out[:, col["cooc_max"]] = conditional.max(axis=0).toarray().ravel()
            overlap = np.asarray(self._incidence[:, seeds.items].sum(axis=1)).ravel()
            sims = overlap * self._playlist_norm / np.sqrt(len(seeds.items))
            out[:, col["neighbours"]] = scaled(self._catalogue_incidence_t @ (sims * sims))
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
                out[:, col["artist_cooc"]] = scaled(self._artist_counts[codes].T @ weight)
        if len(seeds.songs):
            albums = self._album[seeds.songs]
            albums = albums[albums >= 0]
            if len(albums):
                out[:, col["album"]] = np.isin(self._album, albums) & (self._album >= 0)
            heard = seeds.songs[self.has_audio[seeds.songs]]  # seeds with audio features
            centre = self._z[heard].mean(axis=0) if len(heard) else np.zeros(self._z.shape[1])
            norm = np.linalg.norm(centre)
            if norm > 0:
                out[:, col["audio"]] = 0.5 * (self._zn @ (centre / norm)) + 0.5
            self._posteriors(seeds.songs)
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

    def positions(self, track_ids: Iterable[str]) -> np.ndarray:
        """Positions in the songs base of the given ids (those not in it left out)."""
        found = self._position.get_indexer(list(track_ids))
        return found[found >= 0]

    def evidence(self, seeds: Seeds) -> np.ndarray:
        """Songs some training playlist puts with one of the seeds."""
        if not len(seeds.items):
            return np.zeros(self.n, dtype=bool)
        return np.asarray(self._counts[seeds.items].sum(axis=0)).ravel() > 0

    def hybrid_logits(
        self,
        seeds: Seeds,
        weights: np.ndarray,
        cold_song_weights: np.ndarray | None = None,
        features: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(warm-blend logit, cold-song logit without offset) of every song."""
        x = self.features(seeds) if features is None else features
        cold = self.cold_song_weights if cold_song_weights is None else cold_song_weights
        return weights[0] + x @ weights[1:], cold[0] + x @ cold[1:]

    def hybrid_score(
        self,
        seeds: Seeds,
        weights: np.ndarray,
        cold_song_weights: np.ndarray | None = None,
        cold_song_offset: float | None = None,
        cold_song_head: int | None = None,
        features: np.ndarray | None = None,
    ) -> np.ndarray:
        """The blend in (0, 1): songs some training playlist holds by ``weights``, the others
        (cold songs) by the cold-song blend shifted by the offset; the best ``cold_song_head``
        songs with co-occurrence evidence get +1 (the head of the list stays what the playlists
        say). A playlist without evidence: ``weights`` alone."""
        warm, cold = self.hybrid_logits(seeds, weights, cold_song_weights, features)
        if not len(seeds.items):
            return sigmoid(warm)
        offset = self.cold_song_offset if cold_song_offset is None else cold_song_offset
        head = self.cold_song_head if cold_song_head is None else cold_song_head
        merged = sigmoid(np.where(self.frequency > 0, warm, cold + offset))
        return head_first(merged, self.evidence(seeds), seeds, head)

    def score(
        self, strategy: str, seeds: Seeds, cluster_choice: tuple[str, int] | None = None
    ) -> tuple[np.ndarray, str | None]:
        """Higher is better; ties fall to popularity then catalogue order. ``cluster_choice``:
        the playlist's (genre, cluster) from ``cluster_choices``, when already known."""
        if strategy == "popular":
            return self.popularity.copy(), None
        if strategy == "frequent":
            return self.frequency.astype(float), None
        if strategy == "random":
            return np.random.default_rng(0).random(self.n), None
        if strategy == "cooccurrence":
            if not len(seeds.items):
                note = "no playlist track is in the co-occurrence data: popularity order"
                return np.zeros(self.n), note
            return np.asarray(self._counts[seeds.items].sum(axis=0)).ravel().astype(float), None
        if strategy == "cluster":
            return self._old_cluster_score(seeds, cluster_choice)
        if strategy == "hybrid":
            if len(seeds.items):
                return self.hybrid_score(seeds, self.weights), None
            note = "cold start: no playlist track is in the co-occurrence data"
            return self.hybrid_score(seeds, self.cold_weights), note
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")

    def _need_cluster_models(self) -> None:
        if self.classifier is None or not self.cluster_models:
            raise ValueError("the cluster strategy needs the genre classifier and cluster models")

    def cluster_choices(self, many: Sequence[Seeds]) -> list[tuple[str, int] | None]:
        """The old system's (genre, cluster) of each playlist: the classifier's genre of its
        summary, then that genre's cluster of it (None: no song in the base). One classifier call
        and one call per genre for all of them: a call per playlist was most of an evaluation."""
        self._need_cluster_models()
        out: list[tuple[str, int] | None] = [None] * len(many)
        given = [i for i, seeds in enumerate(many) if len(seeds.songs)]
        if not given:
            return out
        summaries = self.summaries([many[i] for i in given])
        with _one_thread():
            genres = np.asarray(self.classifier.predict(summaries)).astype(str)
            for genre in dict.fromkeys(genres):
                model = self.cluster_models.get(genre)
                if model is None:
                    raise ValueError(f"no cluster model for the predicted genre {genre!r}")
                rows = np.flatnonzero(genres == genre)
                for row, cluster in zip(rows, model.predict(summaries.iloc[rows]), strict=True):
                    out[given[row]] = (genre, int(cluster))
        return out

    def _old_cluster_score(
        self, seeds: Seeds, choice: tuple[str, int] | None = None
    ) -> tuple[np.ndarray, str | None]:
        self._need_cluster_models()
        if not len(seeds.songs):
            note = "cluster: no playlist track in the songs base, popularity order"
            return self.popularity / 100.0, note
        genre, cluster = choice if choice is not None else self.cluster_choices([seeds])[0]
        # The old code took np.setdiff1d(cluster ids, playlist ids)[:20]: ascending track ids.
        by_id = 1.0 - self._id_rank / self.n  # in (0, 1], decreasing with the track id
        in_genre = self.songs["track_genre"].astype(str).to_numpy() == genre
        score = 0.5 * by_id + in_genre + (in_genre & (self.cluster == cluster))
        return score, f"cluster: genre {genre}, cluster {cluster}"

    def select(self, score: np.ndarray, seeds: Seeds, k: int) -> np.ndarray:
        """Top-k song positions: deterministic order, no seed, one id per song identity."""
        score = np.asarray(score, dtype=float).copy()
        if len(seeds.songs):  # the seeds and every song that is one of them
            seed_identity = np.zeros(self._identities, dtype=bool)
            seed_identity[self._identity[seeds.songs]] = True
            score[seed_identity[self._identity]] = -np.inf
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
    ) -> tuple[np.ndarray, np.ndarray, Seeds, str | None]:
        """Positions in the songs base (best first), their scores, the parsed seeds and a note."""
        if strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if k < 1:
            raise ValueError(f"k must be a positive number of songs, got {k}")
        seeds = self.seeds(track_ids, artists)
        if not seeds.ids and not allow_unknown:
            raise NoUsableTracks("the playlist has no tracks")
        if seeds.ids and not len(seeds.songs) and not len(seeds.items) and not allow_unknown:
            raise NoUsableTracks(
                f"none of the playlist's {len(seeds.ids)} track(s) is in the songs base or the "
                "playlists data, so there is nothing to continue from"
            )
        score, note = self.score(strategy, seeds)
        chosen = self.select(score, seeds, k)
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
