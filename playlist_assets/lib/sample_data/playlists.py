"""Sample playlists in the Spotify Million Playlist Dataset JSON format, and its writer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playlist_assets.lib.sample_data.names import (
    pick,
    random_album,
    random_person,
    random_title,
    spotify_ids,
    track_ids,
)
from playlist_assets.lib.sample_data.profiles import (
    GENERATOR_VERSION,
    NEIGHBOURS,
    PARAMS,
    PROFILES,
    assign_moods,
    rng_for,
)
from playlist_assets.lib.schema import TRACK_URI_PREFIX

_GENRE_WORDS: dict[str, list[str]] = PARAMS["playlist_genre_words"]
_MOOD_NAMES: dict[str, list[str]] = PARAMS["playlist_mood_names"]
_GENERIC_NAMES: list[str] = PARAMS["playlist_generic_names"]
_DAY = 86_400


_FIRST_DAY = 1_325_376_000 // _DAY  # 2012-01-01


_LAST_DAY = 1_509_494_400 // _DAY  # 2017-11-01


def _playlist_name(rng: np.random.Generator, genre: str, mood: str) -> str:
    g = pick(rng, _GENRE_WORDS.get(genre, (genre,)))
    r = rng.random()
    name = pick(rng, _GENERIC_NAMES) if r < 0.2 else pick(rng, _MOOD_NAMES[mood]).format(g=g)
    r = rng.random()
    if r < 0.1:
        name = name.upper()
    elif r < 0.25:
        name = name.title()
    elif r < 0.3:
        name += " "
    return name


@dataclass
class _Songs:
    """Every song a playlist may hold: the given tracks first, then songs the catalogue lacks.

    ``entry[i]`` is song i's MPD track object without ``pos``; ``groups`` maps (genre, mood)
    and ``extras`` maps genre to song indices.
    """

    entry: list[dict]
    n_known: int
    weight: np.ndarray
    groups: dict[tuple[str, str], np.ndarray]
    extras: dict[str, np.ndarray]


def _entries(
    ids: Sequence[str],
    artists: Sequence[str],
    titles: Sequence[str],
    albums: Sequence[str],
    durations: Sequence[int],
) -> list[dict]:
    artist_uri = spotify_ids(list(artists))
    album_uri = spotify_ids([f"{a}\x1f{b}" for a, b in zip(artists, albums, strict=True)])
    return [
        {
            "artist_name": artists[i],
            "track_uri": f"{TRACK_URI_PREFIX}{ids[i]}",
            "artist_uri": f"spotify:artist:{artist_uri[i]}",
            "track_name": titles[i],
            "album_uri": f"spotify:album:{album_uri[i]}",
            "duration_ms": int(durations[i]),
            "album_name": albums[i],
        }
        for i in range(len(ids))
    ]


def _songs(tracks: pd.DataFrame, weight_scale: np.ndarray, seed: int) -> _Songs:
    moods = assign_moods(tracks)
    ids = tracks["track_id"].astype(str).to_numpy()
    unique_ids, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    artists = tracks["artists"].fillna("").astype(str).str.split(";").str[0].to_numpy()[first]
    titles = tracks["track_name"].fillna("").astype(str).to_numpy()[first]
    albums = tracks["album_name"].fillna("").astype(str).to_numpy()[first]
    durations = tracks["duration_ms"].to_numpy(dtype=np.int64)[first]
    popularity = np.clip(tracks["popularity"].to_numpy(dtype=float), 0, 100)
    weight = ((popularity + 5.0) ** 1.3 * weight_scale)[first]
    entry = _entries(unique_ids, artists, titles, albums, durations)
    n_known = len(entry)

    genres = tracks["track_genre"].astype(str).to_numpy()
    keys = pd.Series(list(zip(genres, moods, strict=True)))
    groups = {k: np.unique(inverse[idx]) for k, idx in keys.groupby(keys).indices.items()}

    # Songs the catalogue lacks, per genre, by its artists and by others: real playlists hold
    # many songs the Kaggle file does not have.
    extras: dict[str, np.ndarray] = {}
    weights = [weight]
    for genre in sorted(set(genres)):
        rng = rng_for(seed, "extras", genre)
        known = artists[np.unique(inverse[genres == genre])]
        n = max(10, len(known) // 2)
        e_artists = [
            str(known[int(rng.integers(len(known)))]) if rng.random() < 0.6 else random_person(rng)
            for _ in range(n)
        ]
        e_titles = [random_title(rng, genre) for _ in range(n)]
        e_albums = [
            t if rng.random() < 0.3 else random_album(rng, genre, a)
            for t, a in zip(e_titles, e_artists, strict=True)
        ]
        log_ms = PROFILES.get(genre, {}).get("duration", (12.2, 0.3))
        e_ms = np.clip(np.exp(rng.normal(*log_ms, n)), 30_000, 1_200_000).astype(np.int64)
        extras[genre] = np.arange(len(entry), len(entry) + n)
        entry += _entries(track_ids(rng, n), e_artists, e_titles, e_albums, e_ms)
        weights.append(np.median(weight) / rng.permutation(np.arange(1, n + 1)) ** 0.7)
    return _Songs(entry, n_known, np.concatenate(weights), groups, extras)


def _draw(
    rng: np.random.Generator, pool: np.ndarray, weight: np.ndarray, k: int, taken: np.ndarray
) -> list[int]:
    """Up to k items of pool, weighted, without replacement, skipping (then marking) taken."""
    pool = pool[~taken[pool]]
    k = min(k, len(pool))
    if k <= 0:
        return []
    # Efraimidis-Spirakis: the k smallest Exp(1)/weight keys are a weighted sample.
    keys = rng.exponential(size=len(pool)) / weight[pool]
    top = np.argpartition(keys, k - 1)[:k] if k < len(pool) else np.arange(len(pool))
    picked = pool[top[np.argsort(keys[top], kind="stable")]]
    taken[picked] = True
    return picked.tolist()


@dataclass(frozen=True)
class _Community:
    keys: list[tuple[str, str]]
    core: list[int]


def generate_playlists(
    tracks: pd.DataFrame,
    n_playlists: int,
    seed: int = 0,
    *,
    held_back: pd.DataFrame | None = None,
    held_back_weight: float = 0.25,
    extra_share: float = 0.17,
) -> dict:
    """Playlists in the Spotify Million Playlist Dataset JSON format over ``tracks``.

    People build playlists around one or two genres and a mood; "taste communities" share a
    core of songs, so pairs of songs recur together across playlists (what co-occurrence
    learns); popular songs turn up more often; ``extra_share`` of the entries are songs the
    catalogue lacks. ``held_back`` tracks (the replay pool, not yet in the catalogue) appear
    too, ``held_back_weight`` times as often as a catalogue track of the same popularity.
    """
    rng = rng_for(seed, "playlists")
    all_tracks = tracks if held_back is None else pd.concat([tracks, held_back], ignore_index=True)
    scale = np.ones(len(all_tracks))
    scale[len(tracks) :] = held_back_weight
    songs = _songs(all_tracks, scale, seed)
    group_keys = sorted(songs.groups)
    group_sizes = np.array([len(songs.groups[k]) for k in group_keys], dtype=float)

    def pick_groups() -> list[tuple[str, str]]:
        first = group_keys[rng.choice(len(group_keys), p=group_sizes / group_sizes.sum())]
        chosen = [first]
        if rng.random() < 0.45:
            if rng.random() < 0.8:
                near = NEIGHBOURS.get(first[0], ())
                options = [
                    k for k in group_keys if k[0] == first[0] or (k[0] in near and k[1] == first[1])
                ]
            else:
                options = group_keys
            options = [k for k in options if k != first]
            if options:
                chosen.append(options[int(rng.integers(len(options)))])
        return chosen

    pools: dict[tuple, np.ndarray] = {}

    def members(keys: list[tuple[str, str]]) -> np.ndarray:
        if tuple(keys) not in pools:
            pools[tuple(keys)] = np.unique(np.concatenate([songs.groups[k] for k in keys]))
        return pools[tuple(keys)]

    taken = np.zeros(len(songs.entry), dtype=bool)
    communities = []
    for _ in range(max(3, n_playlists // 40)):
        keys = pick_groups()
        core = _draw(rng, members(keys), songs.weight, int(rng.integers(15, 35)), taken)
        core += _draw(rng, songs.extras[keys[0][0]], songs.weight, 6, taken)
        taken[core] = False
        communities.append(_Community(keys, core))
    community_share = 1.0 / np.arange(1, len(communities) + 1) ** 0.6
    community_share /= community_share.sum()
    everyone = np.arange(songs.n_known)

    playlists = []
    for pid in range(n_playlists):
        length = int(np.clip(round(np.exp(rng.normal(np.log(28), 0.45))), 10, 60))
        n_extra = int(rng.binomial(length, extra_share))
        n_random = int(rng.binomial(length - n_extra, 0.05))
        chosen: list[int] = []
        if rng.random() < 0.6:
            community = communities[rng.choice(len(communities), p=community_share)]
            keys = community.keys
            k_core = min(len(community.core), int(round(length * rng.uniform(0.3, 0.55))))
            chosen += [int(i) for i in rng.choice(community.core, size=k_core, replace=False)]
        else:
            keys = pick_groups()
        taken[chosen] = True
        n_extra -= sum(1 for i in chosen if i >= songs.n_known)
        for pool, target in (
            (songs.extras[keys[0][0]], len(chosen) + n_extra),
            (members(keys), length - n_random),
            (everyone, length),
        ):
            chosen += _draw(rng, pool, songs.weight, target - len(chosen), taken)
        taken[chosen] = False
        chosen = [chosen[i] for i in rng.permutation(len(chosen))]
        playlists.append(_playlist(rng, pid, keys[0], [songs.entry[i] for i in chosen]))
    return {
        "info": {
            "generated_on": "playlist_assets sample generator",
            "slice": "sample",
            "version": "v1",
            "generator_version": GENERATOR_VERSION,
            "seed": int(seed),
        },
        "playlists": playlists,
    }


def _playlist(rng: np.random.Generator, pid: int, key: tuple[str, str], songs: list[dict]) -> dict:
    tracks = [{"pos": pos, **song} for pos, song in enumerate(songs)]
    day = _LAST_DAY - min(int(rng.exponential(500)), _LAST_DAY - _FIRST_DAY)
    return {
        "name": _playlist_name(rng, key[0], key[1]),
        "collaborative": "false",
        "pid": pid,
        "modified_at": day * _DAY,
        "num_tracks": len(tracks),
        "num_albums": len({t["album_uri"] for t in tracks}),
        "num_followers": int(rng.geometric(0.75)),
        "tracks": tracks,
        "num_edits": int(2 + rng.poisson(len(tracks) / 5)),
        "duration_ms": sum(t["duration_ms"] for t in tracks),
        "num_artists": len({t["artist_uri"] for t in tracks}),
    }


def mpd_json(data: dict) -> str:
    """MPD JSON with one track object per line: readable, and far faster than indent=4."""
    encoded: dict[tuple, str] = {}
    parts = []
    for playlist in data["playlists"]:
        fields = []
        for key, value in playlist.items():
            if key != "tracks":
                fields.append(f"            {json.dumps(key)}: {json.dumps(value)}")
                continue
            lines = []
            for track in value:
                rest = tuple((k, v) for k, v in track.items() if k != "pos")
                if rest not in encoded:
                    encoded[rest] = json.dumps(dict(rest))[1:]
                lines.append(
                    f'                {{"pos": {json.dumps(track["pos"])}, {encoded[rest]}'
                )
            body = ",\n".join(lines)
            fields.append(f'            "tracks": [\n{body}\n            ]')
        parts.append("        {\n" + ",\n".join(fields) + "\n        }")
    return (
        f'{{\n    "info": {json.dumps(data["info"])},\n    "playlists": [\n'
        + ",\n".join(parts)
        + "\n    ]\n}\n"
    )
