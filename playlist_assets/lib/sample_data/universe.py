"""The songs MPD-shaped playlists draw from at full size: the catalogue, plus the long tail.

The real Million Playlist Dataset holds 2,262,292 distinct tracks in 66 M entries; only a few
percent of its entries are songs of a Kaggle-sized catalogue (2.4 % of the 614k real entries
are songs of the ten-genre catalogue, 7.9 % of the whole Kaggle file). The universe is therefore
the catalogue (and the replay pool, held back from it) plus a tail of tracks the catalogue lacks:
a Zipf-popular body (a few hits in ~45,000 playlists, like the real top track) and rarely played
tracks (about once each in a million playlists), so a million playlists hold ~2.3 M distinct
tracks and the count grows with the playlists as in the real data.

The tail is fixed by the seed whatever the number of playlists, so a smaller set of slices is
the prefix of a larger one. Every tail track belongs to a (genre, mood) group of the catalogue's
genres, so tail tracks co-occur with the catalogue songs of their scene. Names, ids and the JSON
text of a track are made when a slice first uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from playlist_assets.lib.sample_data.names import BASE62, _plural, spotify_ids
from playlist_assets.lib.sample_data.profiles import (
    GENRE_MOODS,
    PARAMS,
    PROFILES,
    assign_moods,
    rng_for,
)
from playlist_assets.lib.schema import TRACK_URI_PREFIX

# The tail: a Zipf body (weight 1 / (rank + offset)) and rarely played tracks of equal weight.
TAIL_BODY = 1_350_000
TAIL_RARE = 1_400_000
ZIPF_OFFSET = 80.0
# Share of the tail's draws that go to the rarely played tracks (~1.2 draws each at a million
# playlists: most are heard once or twice, and new ones keep turning up).
RARE_SHARE = 0.027
TRACKS_PER_ARTIST = 9  # the real dataset: 2.26 M tracks by 296k artists
ALBUMS_PER_ARTIST = 4

_W: dict[str, list[str]] = PARAMS["words"]
_B62 = np.frombuffer(BASE62.encode(), dtype=np.uint8)


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Spotify-like ids as 22-byte strings (first character 0-7, like a 128-bit number)."""
    digits = rng.integers(0, 62, size=(n, 22), dtype=np.uint8)
    digits[:, 0] %= 8
    return np.ascontiguousarray(_B62[digits]).view("S22").ravel()


def _words(name: str) -> np.ndarray:
    return np.array(_W[name], dtype=object)


@dataclass
class Sampler:
    """Weighted draws (with replacement) from ``members``: one ``searchsorted`` per call."""

    members: np.ndarray
    cumulative: np.ndarray

    @classmethod
    def of(cls, members: np.ndarray, weights: np.ndarray) -> Sampler:
        return cls(members.astype(np.int64), np.cumsum(weights, dtype=np.float64))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if not len(self.members) or n <= 0:
            return np.zeros(0, dtype=np.int64)
        u = rng.random(n) * self.cumulative[-1]
        at = np.minimum(np.searchsorted(self.cumulative, u, side="right"), len(self.members) - 1)
        return self.members[at]


@dataclass
class Universe:
    """Songs 0..n_catalogue-1 are the catalogue's (then the replay pool's), the rest the tail.

    ``groups`` are (genre, mood) keys; ``catalogue[g]`` / ``tail[g]`` draw a group's songs,
    ``catalogue_all`` / ``tail_all`` any song of that part.
    """

    seed: int
    n_catalogue: int
    groups: list[tuple[str, str]]
    group_share: np.ndarray  # how often a playlist is built around each group
    catalogue: list[Sampler]
    tail: list[Sampler]
    catalogue_all: Sampler
    tail_all: Sampler
    artist: np.ndarray  # per song: artist code (catalogue artists first)
    album: np.ndarray  # per song: album code
    duration: np.ndarray  # per song: ms
    n_catalogue_artists: int
    n_catalogue_albums: int
    _catalogue_text: list[str] = field(repr=False)
    _names: TailNames = field(repr=False)
    _text: list[str | None] = field(default_factory=list, repr=False)
    _has_text: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)

    @property
    def size(self) -> int:
        return len(self.artist)

    def texts(self, songs: np.ndarray) -> list[str]:
        """The JSON members of each song's MPD track object (all but ``pos``), made once."""
        if len(self._has_text) != self.size:
            self._text, self._has_text = [None] * self.size, np.zeros(self.size, dtype=bool)
        cache = self._text
        new = np.unique(songs[~self._has_text[songs]])
        for song, text in zip(new.tolist(), self._make_texts(new), strict=True):
            cache[song] = text
        self._has_text[new] = True
        return [cache[s] for s in songs.tolist()]  # type: ignore[misc]

    def _make_texts(self, songs: np.ndarray) -> list[str]:
        out: list[str | None] = [None] * len(songs)
        tail_at = np.flatnonzero(songs >= self.n_catalogue)
        for i in np.flatnonzero(songs < self.n_catalogue).tolist():
            out[i] = self._catalogue_text[int(songs[i])]
        if len(tail_at):
            for i, text in zip(tail_at.tolist(), _tail_texts(self, songs[tail_at]), strict=True):
                out[i] = text
        return out  # type: ignore[return-value]


def _escaped(name: str) -> list[str]:
    """A word list as JSON string contents (escapes of a concatenation concatenate)."""
    return [json.dumps(w)[1:-1] for w in _W[name]]


@dataclass
class TailNames:
    """Word choices and ids of the tail, drawn at once for every song, artist and album."""

    title: np.ndarray  # (songs, 3): form, word, word
    artist: np.ndarray  # (artists, 3)
    album: np.ndarray  # (albums, 2)
    track_ids: np.ndarray  # S22 per tail song
    artist_ids: np.ndarray
    album_ids: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, songs: int, artists: int, albums: int) -> TailNames:
        def words(n: int, k: int) -> np.ndarray:
            return rng.integers(0, 1 << 16, size=(n, k), dtype=np.uint16)

        return cls(
            words(songs, 3),
            words(artists, 3),
            words(albums, 2),
            _ids(rng, songs),
            _ids(rng, artists),
            _ids(rng, albums),
        )


def _tail_texts(universe: Universe, songs: np.ndarray) -> list[str]:
    """The JSON members of tail songs, from their pre-drawn word choices and ids."""
    adj, noun, verb = _escaped("adj"), _escaped("noun"), _escaped("verb")
    nouns = [_plural(n) for n in noun]
    first, last = _escaped("first"), _escaped("last")
    names = universe._names
    out = []
    for song in songs.tolist():
        t = song - universe.n_catalogue
        artist = int(universe.artist[song]) - universe.n_catalogue_artists
        album = int(universe.album[song]) - universe.n_catalogue_albums
        f, a, b = names.artist[artist].tolist()
        if f % 20 < 9:
            artist_name = f"{first[a % len(first)]} {last[b % len(last)]}"
        elif f % 20 < 15:
            artist_name = f"The {adj[a % len(adj)]} {nouns[b % len(nouns)]}"
        else:
            artist_name = f"{adj[a % len(adj)]} {noun[b % len(noun)]}"
        f, a, b = names.title[t].tolist()
        if f % 5 < 2:
            title = f"{adj[a % len(adj)]} {noun[b % len(noun)]}"
        elif f % 5 == 2:
            title = noun[a % len(noun)]
        elif f % 5 == 3:
            title = verb[a % len(verb)]
        else:
            title = f"{noun[a % len(noun)]} of the {noun[b % len(noun)]}"
        a, b = names.album[album].tolist()
        out.append(
            f'"artist_name": "{artist_name}", '
            f'"track_uri": "{TRACK_URI_PREFIX}{names.track_ids[t].decode()}", '
            f'"artist_uri": "spotify:artist:{names.artist_ids[artist].decode()}", '
            f'"track_name": "{title}", '
            f'"album_uri": "spotify:album:{names.album_ids[album].decode()}", '
            f'"duration_ms": {int(universe.duration[song])}, '
            f'"album_name": "{adj[a % len(adj)]} {noun[b % len(noun)]}"'
        )
    return out


def _catalogue_part(
    catalogue: pd.DataFrame, held_back: pd.DataFrame | None, held_back_weight: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Distinct catalogue (then replay-pool) songs, their moods and draw weights."""
    frames = [catalogue] if held_back is None else [catalogue, held_back]
    scale = np.concatenate(
        [np.full(len(f), 1.0 if i == 0 else held_back_weight) for i, f in enumerate(frames)]
    )
    songs = pd.concat(frames, ignore_index=True)
    moods = assign_moods(songs)
    first = ~songs["track_id"].duplicated().to_numpy()
    popularity = np.clip(songs["popularity"].to_numpy(dtype=float), 0, 100)
    weight = (popularity + 5.0) ** 1.3 * scale
    return songs[first].reset_index(drop=True), moods[first], weight[first]


def _catalogue_texts(songs: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """JSON members of the catalogue songs (as the sample playlists write them), artist codes
    and album codes."""
    artists = songs["artists"].fillna("").astype(str).str.split(";").str[0].to_numpy()
    albums = songs["album_name"].fillna("").astype(str).to_numpy()
    artist_uri = spotify_ids(list(artists))
    album_uri = spotify_ids([f"{a}\x1f{b}" for a, b in zip(artists, albums, strict=True)])
    ids = songs["track_id"].astype(str).tolist()
    titles = songs["track_name"].fillna("").astype(str).tolist()
    durations = songs["duration_ms"].astype(np.int64).tolist()
    texts = [
        json.dumps(
            {
                "artist_name": artists[i],
                "track_uri": f"{TRACK_URI_PREFIX}{ids[i]}",
                "artist_uri": f"spotify:artist:{artist_uri[i]}",
                "track_name": titles[i],
                "album_uri": f"spotify:album:{album_uri[i]}",
                "duration_ms": durations[i],
                "album_name": albums[i],
            }
        )[1:-1]
        for i in range(len(songs))
    ]
    artist_codes = pd.factorize(artists)[0].astype(np.int64)
    album_codes = pd.factorize(album_uri)[0].astype(np.int64)
    return texts, artist_codes, album_codes


def build_universe(
    catalogue: pd.DataFrame,
    held_back: pd.DataFrame | None,
    seed: int,
    *,
    held_back_weight: float = 0.25,
    tail: tuple[int, int] | None = None,
) -> Universe:
    """The catalogue (and held-back replay songs, ``held_back_weight`` times as likely) plus the
    seed's tail (``tail``: body and rare tracks, TAIL_BODY and TAIL_RARE by default), with a
    weighted sampler per (genre, mood) group."""
    tail_body, tail_rare = tail or (TAIL_BODY, TAIL_RARE)
    songs, moods, cat_weight = _catalogue_part(catalogue, held_back, held_back_weight)
    texts, cat_artist, cat_album = _catalogue_texts(songs)
    n_cat = len(songs)
    genres = [g for g in PROFILES if g in GENRE_MOODS]
    groups = [(g, m) for g in genres for m, _ in GENRE_MOODS[g]]
    code = {key: i for i, key in enumerate(groups)}
    share = np.array([w for g in genres for _, w in GENRE_MOODS[g]], dtype=float)
    share /= share.sum()

    rng = rng_for(seed, "tail")
    n_tail = tail_body + tail_rare
    tail_group = rng.choice(len(groups), size=n_tail, p=share)
    body = 1.0 / (np.arange(tail_body) + ZIPF_OFFSET)
    rare = np.full(tail_rare, body.sum() * RARE_SHARE / (1 - RARE_SHARE) / max(tail_rare, 1))
    tail_weight = np.concatenate([rng.permutation(body), rare])  # popularity not by index
    n_artists = n_tail // TRACKS_PER_ARTIST
    # Artists are prolific the way tracks are popular: a few hold many tracks.
    artist_weight = 1.0 / (np.arange(n_artists) + 20.0)
    tail_artist = rng.choice(n_artists, size=n_tail, p=artist_weight / artist_weight.sum())
    tail_album = tail_artist * ALBUMS_PER_ARTIST + rng.integers(0, ALBUMS_PER_ARTIST, n_tail)
    log_ms = np.array([PROFILES[g].get("duration", (12.2, 0.3)) for g, _ in groups])[tail_group]
    tail_ms = np.clip(np.exp(rng.normal(log_ms[:, 0], log_ms[:, 1])), 30_000, 1_200_000)

    cat_group = np.array(
        [code.get((g, m), -1) for g, m in zip(songs["track_genre"], moods, strict=True)]
    )
    tail_ids = np.arange(n_cat, n_cat + n_tail)
    n_cat_artists, n_cat_albums = int(cat_artist.max()) + 1, int(cat_album.max()) + 1
    return Universe(
        seed=seed,
        n_catalogue=n_cat,
        groups=groups,
        group_share=share,
        catalogue=[
            Sampler.of(np.flatnonzero(cat_group == g), cat_weight[cat_group == g])
            for g in range(len(groups))
        ],
        tail=[
            Sampler.of(tail_ids[tail_group == g], tail_weight[tail_group == g])
            for g in range(len(groups))
        ],
        catalogue_all=Sampler.of(np.arange(n_cat), cat_weight),
        tail_all=Sampler.of(tail_ids, tail_weight),
        artist=np.concatenate([cat_artist, tail_artist + n_cat_artists]),
        album=np.concatenate([cat_album, tail_album + n_cat_albums]),
        duration=np.concatenate(
            [songs["duration_ms"].to_numpy(np.int64), tail_ms.astype(np.int64)]
        ),
        n_catalogue_artists=n_cat_artists,
        n_catalogue_albums=n_cat_albums,
        _catalogue_text=texts,
        _names=TailNames.draw(rng, n_tail, n_artists, n_artists * ALBUMS_PER_ARTIST),
    )
