"""MPD-shaped playlists at full size: slice files of 1,000 playlists, written as a stream.

The default sample's generator (``playlists``) picks each song of each playlist in Python over
the whole catalogue: right for 800 playlists, hours for 100,000. This one draws a whole slice at
once with numpy over the universe (``universe``: the catalogue plus the long tail of tracks it
lacks) and writes each slice as soon as it is made, compressing it in a second thread (zlib
releases the GIL), so memory stays flat in the number of playlists and a million playlists take
minutes.

The playlists carry what the real ones carry: lengths like the MPD's (5-250, mean ~66); a
(genre, mood) scene or two per playlist; taste communities whose cores recur across playlists
(what co-occurrence learns); a few percent of the entries catalogue songs, varying a lot from
playlist to playlist (``CATALOGUE_SHARE``); the rest the tail. Every slice is a pure function of
(seed, slice number), so 10 slices are the first 10 of 1,000.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from playlist_assets.lib.sample_data.playlists import _FIRST_DAY, _LAST_DAY, _playlist_name
from playlist_assets.lib.sample_data.profiles import GENERATOR_VERSION, NEIGHBOURS, rng_for
from playlist_assets.lib.sample_data.universe import (
    TAIL_BODY,
    TAIL_RARE,
    Universe,
    build_universe,
)

SLICE_SIZE = 1000
MPD_PLAYLISTS = 1_000_000
# Taste communities, one per 40 playlists of the full dataset (as the default sample has).
COMMUNITIES = MPD_PLAYLISTS // 40
IN_COMMUNITY = 0.6
# Mean share of catalogue songs in a playlist: between the real ten-genre (2.4 %) and whole-Kaggle
# (7.9 %) shares measured on the 6,544 real playlists; Beta(1, 19) spreads it so about one
# playlist in five has 5+ catalogue songs (the real extract: one in five, ten genres).
CATALOGUE_SHARE = 0.05
_SHARE_CONCENTRATION = 20.0
_LENGTH_MEDIAN, _LENGTH_SIGMA = 49.0, 0.8  # MPD lengths: median ~49, mean ~66, 5..250
_DAY = 86_400


@dataclass(frozen=True)
class Scale:
    """How big the world of the playlists is: fixed, so fewer slices are a prefix of more
    (smaller only in tests, where building the full tail would take seconds)."""

    tail_body: int = TAIL_BODY
    tail_rare: int = TAIL_RARE
    communities: int = COMMUNITIES


def slice_file_name(index: int, size: int = SLICE_SIZE, suffix: str = ".json.gz") -> str:
    """``mpd.slice.<first pid>-<last pid>.json[.gz]``, the real dataset's names."""
    return f"mpd.slice.{index * size}-{(index + 1) * size - 1}{suffix}"


@dataclass(frozen=True)
class Communities:
    """Groups of listeners sharing a core of catalogue songs and of tail tracks (CSR-style)."""

    first: np.ndarray  # primary group
    second: np.ndarray  # second group, -1 for none
    share: np.ndarray  # cumulative share of the community playlists
    cat_ptr: np.ndarray
    cat_core: np.ndarray
    tail_ptr: np.ndarray
    tail_core: np.ndarray


def _second_groups(universe: Universe, first: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """With probability 0.45 a second scene: mostly a neighbour genre in the same mood."""
    groups = universe.groups
    near = []
    for genre, mood in groups:
        options = [
            i
            for i, (g, m) in enumerate(groups)
            if (g == genre or (g in NEIGHBOURS.get(genre, ()) and m == mood))
            and (g, m) != (genre, mood)
        ]
        near.append(options or [i for i in range(len(groups)) if groups[i] != (genre, mood)])
    n = len(first)
    second = np.full(n, -1, dtype=np.int64)
    has = rng.random(n) < 0.45
    local = rng.random(n) < 0.8
    pick = rng.random(n)
    for i in np.flatnonzero(has):
        options = near[first[i]] if local[i] else [g for g in range(len(groups)) if g != first[i]]
        second[i] = options[int(pick[i] * len(options))]
    return second


def _cores(
    rng: np.random.Generator,
    samplers: list,
    first: np.ndarray,
    second: np.ndarray,
    sizes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each community's core: ``sizes[i]`` distinct songs of its scenes, weighted, shuffled."""
    n = len(first)
    owner = np.repeat(np.arange(n), 2 * sizes)
    group = np.where(
        (second[owner] >= 0) & (rng.random(len(owner)) < 0.5), second[owner], first[owner]
    )
    drawn = np.empty(len(owner), dtype=np.int64)
    for g in np.unique(group).tolist():
        at = np.flatnonzero(group == g)
        drawn[at] = samplers[g].draw(rng, len(at))
    # First occurrence of each (community, song), at most sizes[i] of them, in a random order.
    key = owner * (int(drawn.max(initial=0)) + 1) + drawn
    _, first_at = np.unique(key, return_index=True)
    first_at = np.sort(first_at)
    owner, drawn = owner[first_at], drawn[first_at]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
    keep = rank < sizes[owner]
    owner, drawn = owner[keep], drawn[keep]
    order = np.lexsort((rng.random(len(owner)), owner))
    ptr = np.searchsorted(owner[order], np.arange(n + 1))
    return ptr, drawn[order]


def build_communities(universe: Universe, seed: int, n: int = COMMUNITIES) -> Communities:
    """Taste communities: a (genre, mood) scene or two, a catalogue core (15-35 songs) and a tail
    core (20-60 tracks); the first ones are joined by the most playlists."""
    rng = rng_for(seed, "mpd-communities")
    first = rng.choice(len(universe.groups), size=n, p=universe.group_share)
    second = _second_groups(universe, first, rng)
    share = 1.0 / np.arange(1, n + 1) ** 0.6
    cat_ptr, cat_core = _cores(rng, universe.catalogue, first, second, rng.integers(15, 36, n))
    tail_ptr, tail_core = _cores(rng, universe.tail, first, second, rng.integers(20, 61, n))
    return Communities(
        first, second, np.cumsum(share / share.sum()), cat_ptr, cat_core, tail_ptr, tail_core
    )


def _from_cores(rng, ptr: np.ndarray, core: np.ndarray, comm: np.ndarray, k: np.ndarray):
    """k[i] distinct songs of community comm[i]'s core (a window of its shuffled core)."""
    size = ptr[comm + 1] - ptr[comm]
    k = np.minimum(k, size)
    owner = np.repeat(np.arange(len(comm)), k)
    if not len(owner):
        return owner, owner
    start = (rng.random(len(comm)) * np.maximum(size, 1)).astype(np.int64)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(k) - k, k)
    at = ptr[comm][owner] + (start[owner] + offset) % size[owner]
    return owner, core[at]


def _from_groups(rng, samplers, every, first, second, counts, p_everywhere):
    """counts[i] weighted draws for playlist i: from its scenes, or anywhere (p_everywhere)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    group = np.where(
        (second[owner] >= 0) & (rng.random(len(owner)) < 0.35), second[owner], first[owner]
    )
    group[rng.random(len(owner)) < p_everywhere] = -1
    songs = np.empty(len(owner), dtype=np.int64)
    for g in np.unique(group).tolist():
        at = np.flatnonzero(group == g)
        songs[at] = (every if g < 0 else samplers[g]).draw(rng, len(at))
    return owner, songs


@dataclass(frozen=True)
class SlicePlaylists:
    """One slice as arrays: entries in playlist order, each playlist's songs shuffled."""

    pids: np.ndarray
    bounds: np.ndarray  # entry offsets, len(pids) + 1
    songs: np.ndarray
    first_group: np.ndarray
    rng_state: np.random.Generator


def slice_playlists(
    universe: Universe, communities: Communities, index: int, size: int = SLICE_SIZE
) -> SlicePlaylists:
    """The songs of slice ``index``'s playlists (pids index*size .. index*size+size-1)."""
    rng = rng_for(universe.seed, "mpd-slice", str(index))
    n = size
    lengths = np.clip(np.rint(_LENGTH_MEDIAN * np.exp(rng.normal(0, _LENGTH_SIGMA, n))), 5, 250)
    lengths = lengths.astype(np.int64)
    member = rng.random(n) < IN_COMMUNITY
    comm = np.minimum(np.searchsorted(communities.share, rng.random(n)), len(communities.share) - 1)
    first = rng.choice(len(universe.groups), size=n, p=universe.group_share)
    second = _second_groups(universe, first, rng)
    first = np.where(member, communities.first[comm], first)
    second = np.where(member, communities.second[comm], second)
    p_cat = rng.beta(
        _SHARE_CONCENTRATION * CATALOGUE_SHARE, _SHARE_CONCENTRATION * (1 - CATALOGUE_SHARE), n
    )
    n_cat = rng.binomial(lengths, p_cat)
    n_tail = lengths - n_cat
    core_share = rng.uniform(0.3, 0.55, n) * member
    k_cat = np.rint(n_cat * core_share).astype(np.int64)
    k_tail = np.rint(n_tail * core_share).astype(np.int64)
    members = np.flatnonzero(member)
    parts = [
        _from_cores(rng, communities.cat_ptr, communities.cat_core, comm[members], k_cat[members]),
        _from_cores(
            rng, communities.tail_ptr, communities.tail_core, comm[members], k_tail[members]
        ),
    ]
    parts = [(members[o], s) for o, s in parts]
    parts.append(
        _from_groups(
            rng, universe.catalogue, universe.catalogue_all, first, second, n_cat - k_cat, 0.05
        )
    )
    # A few tail draws more than needed, so the playlist keeps its length once a song drawn
    # twice is dropped; the surplus is cut from these draws only.
    spare = n_tail - k_tail + (lengths // 8 + 2)
    parts.append(_from_groups(rng, universe.tail, universe.tail_all, first, second, spare, 0.2))
    owner = np.concatenate([o for o, _ in parts])
    songs = np.concatenate([s for _, s in parts])
    spare_draw = np.zeros(len(owner), dtype=np.int8)
    spare_draw[len(owner) - len(parts[-1][0]) :] = 1
    # A song once per playlist (its first draw), then at most ``lengths`` songs.
    _, keep = np.unique(owner * universe.size + songs, return_index=True)
    owner, songs, spare_draw = owner[keep], songs[keep], spare_draw[keep]
    order = np.lexsort((rng.random(len(owner)), spare_draw, owner))
    owner, songs = owner[order], songs[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
    owner, songs = owner[rank < lengths[owner]], songs[rank < lengths[owner]]
    order = np.lexsort((rng.random(len(owner)), owner))  # the playlist's songs in a random order
    owner, songs = owner[order], songs[order]
    bounds = np.searchsorted(owner, np.arange(n + 1))
    return SlicePlaylists(np.arange(index * size, index * size + n), bounds, songs, first, rng)


def slice_json(universe: Universe, sliced: SlicePlaylists, index: int, seed: int) -> str:
    """The slice in the MPD JSON layout of the default sample (one track object per line)."""
    rng = sliced.rng_state
    texts = universe.texts(sliced.songs)
    owner = np.repeat(np.arange(len(sliced.pids)), np.diff(sliced.bounds))
    albums = _distinct_per_playlist(owner, universe.album[sliced.songs], len(sliced.pids))
    artists = _distinct_per_playlist(owner, universe.artist[sliced.songs], len(sliced.pids))
    durations = np.bincount(owner, universe.duration[sliced.songs], len(sliced.pids))
    parts = []
    pad = "                "
    for i, pid in enumerate(sliced.pids.tolist()):
        lo, hi = int(sliced.bounds[i]), int(sliced.bounds[i + 1])
        genre, mood = universe.groups[int(sliced.first_group[i])]
        day = _LAST_DAY - min(int(rng.exponential(500)), _LAST_DAY - _FIRST_DAY)
        tracks = ",\n".join(f'{pad}{{"pos": {p}, {texts[lo + p]}}}' for p in range(hi - lo))
        parts.append(
            "        {\n"
            f'            "name": {json.dumps(_playlist_name(rng, genre, mood))},\n'
            '            "collaborative": "false",\n'
            f'            "pid": {pid},\n'
            f'            "modified_at": {day * _DAY},\n'
            f'            "num_tracks": {hi - lo},\n'
            f'            "num_albums": {int(albums[i])},\n'
            f'            "num_followers": {int(rng.geometric(0.75))},\n'
            f'            "tracks": [\n{tracks}\n            ],\n'
            f'            "num_edits": {int(2 + rng.poisson((hi - lo) / 5))},\n'
            f'            "duration_ms": {int(durations[i])},\n'
            f'            "num_artists": {int(artists[i])}\n'
            "        }"
        )
    first, last = int(sliced.pids[0]), int(sliced.pids[-1])
    info = {
        "generated_on": "playlist_assets sample generator",
        "slice": f"{first}-{last}",
        "version": "v1",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
    }
    return (
        f'{{\n    "info": {json.dumps(info)},\n    "playlists": [\n'
        + ",\n".join(parts)
        + "\n    ]\n}\n"
    )


def _distinct_per_playlist(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    pairs = np.unique(owner * (int(values.max(initial=0)) + 1) + values)
    return np.bincount(pairs // (int(values.max(initial=0)) + 1), minlength=n)


def _write(path: Path, text: str, compress: bool) -> None:
    data = text.encode("ascii")
    if compress:  # mtime=0: the same bytes every time; level 1: the writer keeps up
        data = gzip.compress(data, compresslevel=1, mtime=0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iter_slices(
    catalogue: pd.DataFrame,
    n_playlists: int,
    seed: int,
    *,
    held_back: pd.DataFrame | None = None,
    size: int = SLICE_SIZE,
    scale: Scale | None = None,
) -> Iterator[tuple[int, str]]:
    """(slice number, JSON text) for ceil(n_playlists / size) slices; the last may be shorter."""
    scale = scale or Scale()
    universe = build_universe(catalogue, held_back, seed, tail=(scale.tail_body, scale.tail_rare))
    communities = build_communities(universe, seed, scale.communities)
    for index in range(-(-n_playlists // size)):
        n = min(size, n_playlists - index * size)
        sliced = slice_playlists(universe, communities, index, size)
        if n < size:
            sliced = _head(sliced, n)
        yield index, slice_json(universe, sliced, index, seed)


def _head(sliced: SlicePlaylists, n: int) -> SlicePlaylists:
    end = int(sliced.bounds[n])
    return SlicePlaylists(
        sliced.pids[:n],
        sliced.bounds[: n + 1],
        sliced.songs[:end],
        sliced.first_group[:n],
        sliced.rng_state,
    )


def write_slices(
    dest: Path,
    catalogue: pd.DataFrame,
    n_playlists: int,
    seed: int,
    *,
    held_back: pd.DataFrame | None = None,
    size: int = SLICE_SIZE,
    compress: bool = True,
    progress: Callable[[int, int], None] | None = None,
    scale: Scale | None = None,
) -> list[Path]:
    """Write the slices into ``dest`` (each atomically) and remove slice files of an earlier,
    larger run, so the folder holds exactly this dataset."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    suffix = ".json.gz" if compress else ".json"
    total = -(-n_playlists // size)
    written: list[Path] = []
    pending: list[Future] = []
    with ThreadPoolExecutor(max_workers=1) as writer:
        for index, text in iter_slices(
            catalogue, n_playlists, seed, held_back=held_back, size=size, scale=scale
        ):
            path = dest / slice_file_name(index, size, suffix)
            while len(pending) >= 2:  # at most two slices' text in memory besides the one made
                pending.pop(0).result()
            pending.append(writer.submit(_write, path, text, compress))
            written.append(path)
            if progress is not None:
                progress(index + 1, total)
        for future in pending:
            future.result()
    keep = {p.name for p in written}
    for stale in dest.glob("mpd.slice.*.json*"):
        if stale.name not in keep:
            stale.unlink()
    return written
