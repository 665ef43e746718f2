"""Playlist continuation: given a playlist's tracks, rank catalogue songs that fit it.

One ``Recommender`` per process holds the song side (``SongTable``), the co-occurrence aligned
with it (``Evidence``) and the blends (``Blends``); a request scores only its candidates
(``candidates``), so its cost follows the playlist, not the size of the base. Strategies:

- ``hybrid`` (default): learned blends of co-occurrence signals (what people put together),
  artist and album affinity, audio-feature similarity, the genre classifier's and the cluster
  models' posteriors, playlist frequency and popularity (``features``). Songs with co-occurrence
  evidence are scored by the warm blend, the others (fresh songs, songs no playlist holds yet) by
  the cold-song blend; both are calibrated to "chance of being one of the playlist's next songs"
  on validation playlists, so a song without evidence enters the first 150 places only where its
  chance beats the evidenced songs it displaces; past them, songs without evidence come first
  (``merge.Merge``). A playlist none of whose tracks is in the playlists data (cold start) is
  ranked by the cold-start blend.
- ``cooccurrence``: summed co-occurrence counts with the seeds, popularity fill.
- ``frequent``: most frequent songs in the playlists data; ``popular``: catalogue popularity;
  ``random``: a fixed shuffle (the evaluation's floor).
- ``cluster``: the old system, kept for comparison (``baseline``).

Every strategy: never a playlist track, never the same song twice (same normalised name and
artists under two ids), ties broken by popularity then catalogue order, and a list shorter than
``k`` is filled by popularity.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playlist_assets.lib.recommend.baseline import OldClusterMethod
from playlist_assets.lib.recommend.candidates import candidates
from playlist_assets.lib.recommend.cooccurrence import TrackCooccurrence, normalize_artist
from playlist_assets.lib.recommend.evidence import Evidence
from playlist_assets.lib.recommend.features import (
    Seeds,
    Slots,
    candidate_features,
    evidenced,
    gather,
    seed_rows,
)
from playlist_assets.lib.recommend.names import DEFAULT_STRATEGY, STRATEGIES
from playlist_assets.lib.recommend.playlist_refs import normalize_track_id
from playlist_assets.lib.recommend.selection import select
from playlist_assets.lib.recommend.settings import Blends
from playlist_assets.lib.recommend.songs import SongTable

__all__ = ["NoUsableTracks", "RecommendationResult", "Recommender", "Seeds", "Scored"]


class NoUsableTracks(ValueError):
    """None of the playlist's tracks is in the songs base or the playlists data."""


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
class Scored:
    """Songs a strategy scored for one playlist (positions, higher scores first once selected)."""

    positions: np.ndarray
    scores: np.ndarray
    note: str | None = None


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), exact far into the tails (scores of distrusted songs stay ordered)."""
    from scipy.special import expit

    return expit(x)


class Recommender:
    """Songs base + co-occurrence + models, loaded once; ``recommend`` answers requests."""

    def __init__(
        self,
        songs: pd.DataFrame | SongTable,
        cooccurrence: TrackCooccurrence | None = None,
        classifier: Any | None = None,
        cluster_models: dict[str, Any] | None = None,
        *,
        blends: Blends | None = None,
        now: pd.Timestamp | None = None,
    ) -> None:
        if isinstance(songs, SongTable):
            self.table = songs
        else:
            self.table = SongTable(songs, classifier, cluster_models, now=now)
        self._attach(cooccurrence, blends)
        self.version: str | None = None  # the serving recommender's version (load.py)
        self._baseline: OldClusterMethod | None = None
        self._random_order: np.ndarray | None = None

    def _attach(
        self,
        cooccurrence: TrackCooccurrence | None,
        blends: Blends | None,
        before: Evidence | None = None,
    ) -> None:
        """``before``: the evidence of a table this one's songs extend (its alignment reused)."""
        self.cooccurrence = cooccurrence
        self.evidence = Evidence(cooccurrence, self.table.ids, before)
        learned = getattr(cooccurrence, "blends", None) if cooccurrence is not None else None
        self.blends = blends or learned or Blends()
        self._vectors = self.blends.vectors()

    def with_cooccurrence(
        self, cooccurrence: TrackCooccurrence | None, blends: Blends | None = None
    ) -> Recommender:
        """The same songs and models with other co-occurrence data (and blends): tuning and
        evaluation learn several, and the song side is most of building a recommender."""
        other = copy.copy(self)
        other._attach(cooccurrence, blends)
        return other

    def with_table(self, table: SongTable) -> Recommender:
        """The same co-occurrence, blends and version on another song table (``extend``: the
        songs an hour brought appended), the co-occurrence aligned to its songs."""
        other = copy.copy(self)
        other.table, other._baseline, other._random_order = table, None, None
        other._attach(self.cooccurrence, self.blends, self.evidence)
        return other

    def with_blends(self, blends: Blends) -> Recommender:
        """The same recommender with other blends (tuning tries several)."""
        other = copy.copy(self)
        other.blends, other._vectors = blends, blends.vectors()
        return other

    # -- what it holds ------------------------------------------------------------------------

    @property
    def n(self) -> int:
        return self.table.n

    @property
    def ids(self) -> np.ndarray:
        return self.table.ids

    @property
    def frequency(self) -> np.ndarray:
        return self.evidence.frequency

    @property
    def baseline(self) -> OldClusterMethod:
        if self._baseline is None:
            self._baseline = OldClusterMethod(self.table)
        return self._baseline

    def positions(self, track_ids: Sequence[str]) -> np.ndarray:
        """Positions in the songs base of the given ids (those not in it left out)."""
        return self.table.positions(track_ids)

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
        position, ev = self.table.position, self.evidence
        songs = np.asarray([position(t) for t in ids], dtype=np.int64)
        items = ev.items(ids) if use_items else np.full(len(ids), -1, dtype=np.int64)
        votes: list[str] = []
        voters = 0
        for track, song, item in zip(ids, songs, items, strict=True):
            if song >= 0:
                names = self.table.artists_of(song)
            elif item >= 0 and ev.item_artist[item] >= 0:
                names = [ev.artist_names[ev.item_artist[item]]]
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

    def candidates(self, seeds: Seeds, k: int) -> np.ndarray:
        """Sorted positions of the songs the hybrid scores for this playlist."""
        return candidates(self.table, self.evidence, seeds, k)

    def features(self, seeds: Seeds, positions: np.ndarray) -> np.ndarray:
        """The hybrid's features (positions x FEATURES) of the sorted ``positions``."""
        return candidate_features(self.table, self.evidence, seeds, positions)

    def evidence_of(self, seeds: Seeds, positions: np.ndarray) -> np.ndarray:
        """Which of the sorted ``positions`` some training playlist puts with a seed."""
        out = np.zeros(len(positions), dtype=bool)
        with_evidence = evidenced(self.evidence, seeds)
        if len(with_evidence):
            at = np.minimum(np.searchsorted(with_evidence, positions), len(with_evidence) - 1)
            out = with_evidence[at] == positions
        return out

    def hybrid_logits(self, seeds: Seeds, positions: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The hybrid's log-odds of each candidate: the warm blend where there is evidence and
        the cold-song blend elsewhere, calibrated by the merge; the cold-start blend everywhere
        when no seed is in the playlists data."""
        warm, cold, cold_song = self._vectors
        if not len(seeds.items):
            return cold[0] + x @ cold[1:]
        evidence = self.evidence_of(seeds, positions)
        without = np.zeros(len(positions))
        model = self.blends.cold_song_model
        if model is not None:
            without[~evidence] = model.logit(x[~evidence])
        else:
            without = cold_song[0] + x @ cold_song[1:]
        return self.blends.merge(warm[0] + x @ warm[1:], without, evidence)

    def score(
        self,
        strategy: str,
        seeds: Seeds,
        k: int,
        cluster_choice: tuple[str, int] | None = None,
    ) -> Scored:
        """The songs ``strategy`` scores for the playlist (higher first; ties fall to popularity
        then catalogue order). ``cluster_choice``: the playlist's (genre, cluster) from
        ``baseline.choices``, when already known."""
        table, ev = self.table, self.evidence
        depth = k + len(seeds.songs) + 32
        if strategy == "popular":
            top = table.by_popularity[:depth]
            return Scored(top, table.popularity[top])
        if strategy == "frequent":
            top = ev.by_frequency[:depth]
            return Scored(top, ev.frequency[top])
        if strategy == "random":
            top = self._shuffled()[:depth]
            return Scored(top, -np.arange(len(top), dtype=float))
        if strategy == "cooccurrence":
            if not len(seeds.items):
                note = "no playlist track is in the co-occurrence data: popularity order"
                return Scored(np.zeros(0, dtype=np.int64), np.zeros(0), note)
            top = evidenced(ev, seeds)
            ones = np.ones((len(seeds.items), 1))
            counts = gather(seed_rows(ev, seeds), Slots(top), len(top), ones)[:, 0]
            return Scored(top, counts)
        if strategy == "cluster":
            return Scored(*self.baseline.score(seeds, depth, cluster_choice))
        if strategy == "hybrid":
            top = self.candidates(seeds, k)
            logits = self.hybrid_logits(seeds, top, self.features(seeds, top))
            note = (
                None
                if len(seeds.items)
                else "cold start: no playlist track is in the co-occurrence data"
            )
            return Scored(top, sigmoid(logits), note)
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")

    def _shuffled(self) -> np.ndarray:
        if self._random_order is None:
            noise = np.random.default_rng(0).random(self.n)
            self._random_order = np.lexsort((np.arange(self.n), -noise))
        return self._random_order

    def select(self, scored: Scored, seeds: Seeds, k: int) -> np.ndarray:
        """Top-k song positions: deterministic order, no seed, one id per song identity, filled
        by popularity when the strategy scored fewer songs."""
        return select(self.table, scored.positions, scored.scores, seeds, k)

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
        scored = self.score(strategy, seeds, k)
        chosen = self.select(scored, seeds, k)
        return chosen, _scores_of(scored, chosen), seeds, scored.note

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
        table = self.table.display(chosen)
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
        playlist = self.table.positions(normalize_track_id(t) for t in seeds)
        return self.baseline.similarity(playlist, recommended)


def _scores_of(scored: Scored, chosen: np.ndarray) -> np.ndarray:
    """The strategy's score of each chosen song (0 for songs the popularity fill added)."""
    order = np.argsort(scored.positions, kind="stable")
    sorted_positions = scored.positions[order]
    at = np.minimum(np.searchsorted(sorted_positions, chosen), max(len(order) - 1, 0))
    out = np.zeros(len(chosen))
    if len(order):
        hit = sorted_positions[at] == chosen
        out[hit] = np.asarray(scored.scores, dtype=float)[order[at[hit]]]
    return out
