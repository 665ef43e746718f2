"""Names for the sample generator: artists, albums, titles and Spotify-like ids.

The word lists are in ``sample_generator.json``; each genre names things its own way
(ensembles and opus numbers in classical, producer aliases in edm, Spanish titles in latin).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from playlist_assets.lib.sample_data.profiles import PARAMS, rng_for

_W: dict[str, list[str]] = PARAMS["words"]
_FIRST, _LAST = _W["first"], _W["last"]
_LATIN_FIRST, _LATIN_LAST = _W["latin_first"], _W["latin_last"]
_ADJ, _NOUN, _VERB, _ES_WORDS = _W["adj"], _W["noun"], _W["verb"], _W["es_words"]
_FORMS, _KEYS, _TEMPI, _ROMAN = _W["forms"], _W["keys"], _W["tempi"], _W["roman"]
_CITIES, _ENSEMBLES = _W["cities"], _W["ensembles"]
_PRODUCER_SYL, _RAP_PREFIX, _ALBUM_EXTRA = _W["producer_syl"], _W["rap_prefix"], _W["album_extra"]
_SUFFIX: dict[str, list[str]] = PARAMS["suffix"]
_FEAT_IN_TITLE = frozenset(PARAMS["feat_in_title"])

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


_BASE62_CHARS = np.array(list(BASE62))


def _plural(noun: str) -> str:
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("o", "s", "sh", "ch", "x")):
        return noun + "es"
    return noun + "s"


def pick(rng: np.random.Generator, words: Sequence[str]) -> str:
    return words[int(rng.integers(len(words)))]


def random_person(rng: np.random.Generator, latin: bool = False) -> str:
    if latin:
        return f"{pick(rng, _LATIN_FIRST)} {pick(rng, _LATIN_LAST)}"
    return f"{pick(rng, _FIRST)} {pick(rng, _LAST)}"


def random_artist(rng: np.random.Generator, genre: str) -> str:
    r = rng.random()
    if genre == "classical":
        return f"{pick(rng, _CITIES)} {pick(rng, _ENSEMBLES)}" if r < 0.35 else random_person(rng)
    if genre == "latin":
        if r < 0.15:
            return f"DJ {pick(rng, _LATIN_FIRST)}"
        return f"Los {pick(rng, _LATIN_LAST)}" if r < 0.3 else random_person(rng, latin=True)
    if genre in ("edm", "ambient") and r < 0.6:
        word = "".join(pick(rng, _PRODUCER_SYL) for _ in range(int(rng.integers(2, 4))))
        return word.upper() if rng.random() < 0.25 else word.capitalize()
    if genre == "hip-hop" and r < 0.55:
        return f"{pick(rng, _RAP_PREFIX)} {pick(rng, _NOUN)}"
    if genre in ("rock", "alternative", "ambient") and r < 0.65:
        if rng.random() < 0.5:
            return f"The {pick(rng, _ADJ)} {_plural(pick(rng, _NOUN))}"
        return f"{pick(rng, _ADJ)} {pick(rng, _NOUN)}"
    if genre == "jazz" and r < 0.3:
        return f"{random_person(rng)} {pick(rng, ('Trio', 'Quartet', 'Quintet'))}"
    if genre == "country" and r < 0.15:
        return f"The {pick(rng, _LAST)} Brothers"
    if genre == "r-n-b" and r < 0.25:
        return pick(rng, _FIRST).upper()
    return random_person(rng)


def random_title(rng: np.random.Generator, genre: str) -> str:
    if genre == "classical":
        form = pick(rng, _FORMS)
        key = f"{pick(rng, _KEYS)} {pick(rng, ('Major', 'Minor'))}"
        return (
            f"{form} No. {int(rng.integers(1, 10))} in {key}, Op. {int(rng.integers(2, 130))}: "
            f"{pick(rng, _ROMAN)}. {pick(rng, _TEMPI)}"
        )
    if genre == "latin" and rng.random() < 0.8:
        return pick(rng, _ES_WORDS)
    r = rng.random()
    if r < 0.35:
        return f"{pick(rng, _ADJ)} {pick(rng, _NOUN)}"
    if r < 0.55:
        return pick(rng, _NOUN)
    if r < 0.75:
        return pick(rng, _VERB)
    if r < 0.9:
        return f"{pick(rng, _NOUN)} of the {pick(rng, _NOUN)}"
    return f"{pick(rng, _ADJ)} {_plural(pick(rng, _NOUN))}"


def random_album(rng: np.random.Generator, genre: str, artist: str) -> str:
    if genre == "classical":
        return f"{artist.split(' ')[-1]}: {pick(rng, _FORMS)}s"
    r = rng.random()
    if r < 0.1:
        return pick(rng, _ALBUM_EXTRA)
    if r < 0.2:
        return f"{random_title(rng, genre)} (Deluxe Edition)"
    return random_title(rng, genre)


@dataclass(frozen=True)
class ArtistPool:
    names: list[str]
    albums: list[list[str]]
    weights: np.ndarray


def artist_pool(seed: int, genre: str, size: int) -> ArtistPool:
    """The genre's artists and their albums: shared by the catalogue, replay pool and playlists."""
    rng = rng_for(seed, "artists", genre)
    names: list[str] = []
    seen: set[str] = set()
    draws = 0
    while len(names) < size:
        name = random_artist(rng, genre)
        draws += 1
        # Distinct names while they are easy to find; a genre whose name space is smaller than
        # ``size`` (4,000 artists at 20,000 songs per genre) repeats names instead of drawing
        # forever: the bound counts draws (it used to count distinct names, which never grew).
        if name not in seen or draws > size * 20:
            seen.add(name)
            names.append(name)
    albums = [[random_album(rng, genre, n) for _ in range(int(rng.integers(1, 5)))] for n in names]
    weights = 1.0 / np.arange(1, size + 1) ** 0.8  # a few artists have most of the songs
    return ArtistPool(names, albums, weights / weights.sum())


def track_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Spotify-like ids: 22 base-62 characters of a 128-bit number (so the first is 0-7)."""
    digits = rng.integers(0, 62, size=(n, 22))
    digits[:, 0] = rng.integers(0, 8, size=n)
    return np.ascontiguousarray(_BASE62_CHARS[digits]).view("<U22").ravel().astype(object)


def spotify_ids(names: Sequence[str]) -> np.ndarray:
    """Stable Spotify-like ids for names (artist and album URIs in the playlists)."""
    if not len(names):
        return np.array([], dtype=object)
    digest = b"".join(hashlib.blake2b(n.encode(), digest_size=22).digest() for n in names)
    digits = np.frombuffer(digest, dtype=np.uint8).reshape(-1, 22) % 62
    digits[:, 0] %= 8
    return np.ascontiguousarray(_BASE62_CHARS[digits]).view("<U22").ravel().astype(object)


def names_block(
    rng: np.random.Generator, genre: str, pool: ArtistPool, n: int, moods: np.ndarray, feat: float
) -> tuple[list[str], list[str], list[str]]:
    artist_idx = rng.choice(len(pool.names), size=n, p=pool.weights)
    artists, albums, titles = [], [], []
    for i in range(n):
        a = int(artist_idx[i])
        title = random_title(rng, genre)
        names = [pool.names[a]]
        if rng.random() < feat:
            for _ in range(int(rng.geometric(0.6))):
                other = pool.names[int(rng.integers(len(pool.names)))]
                if other not in names:
                    names.append(other)
        if genre == "classical" and len(names) == 1:
            names.append(random_person(rng))
        if len(names) > 1 and genre in _FEAT_IN_TITLE:
            title = f"{title} (feat. {names[1]})"
        elif moods[i] == "live" and rng.random() < 0.5:
            title = f"{title} - Live"
        elif genre in _SUFFIX and rng.random() < 0.08:
            title += pick(rng, _SUFFIX[genre])
        album_list = pool.albums[a]
        album = title.split(" (feat.")[0] if rng.random() < 0.25 else pick(rng, album_list)
        artists.append(";".join(names))
        albums.append(album)
        titles.append(title)
    return artists, albums, titles
