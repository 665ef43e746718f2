"""Deterministic sample data: the embedded default catalogue, replay pool and playlists.

The whole graph must run with no download, so the project ships a generator instead of data.
Its output speaks the real formats (the Kaggle "Spotify Tracks" CSV and the Spotify Million
Playlist Dataset JSON), and its numbers carry the signals the models learn from in the real data:
genres differ the way real genres do, each genre holds a few moods (what the per-genre cluster
models find), and playlists repeat groups of songs (what co-occurrence learns).

Pure numpy/pandas; a seed fully determines every byte written. This module writes the files and
is the public face of the generator, split by role: ``profiles`` (the per-genre model,
its parameters in ``sample_generator.json``), ``names`` (artists, titles, ids),
``tracks`` (the Kaggle table) and ``playlists`` (the MPD slice). Above one slice (1,000
playlists) the playlists are the full-size dataset's instead: ``slices`` writes them as MPD
slice files into ``mpd/``, over ``universe`` (the catalogue plus the long tail it lacks).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from playlist_assets.lib.sample_data.names import spotify_ids
from playlist_assets.lib.sample_data.playlists import generate_playlists, mpd_json
from playlist_assets.lib.sample_data.profiles import GENERATOR_VERSION, LATENT, assign_moods
from playlist_assets.lib.sample_data.slices import SLICE_SIZE, slice_file_name, write_slices
from playlist_assets.lib.sample_data.tracks import generate_tracks
from playlist_assets.settings import DEFAULT_GENRES

__all__ = [
    "GENERATOR_VERSION",
    "LATENT",
    "MANIFEST_FILE",
    "MPD_DIR",
    "PLAYLISTS_FILE",
    "REPLAY_FILE",
    "SLICE_SIZE",
    "SAMPLE_GENRES",
    "TRACKS_FILE",
    "SamplePaths",
    "assign_moods",
    "ensure_sample",
    "generate_playlists",
    "generate_tracks",
    "mpd_json",
    "sample_is_current",
    "sample_manifest",
    "sample_paths",
    "spotify_ids",
    "write_sample",
]

# The default ten plus two more, so the configured-genre restriction has something to drop.
SAMPLE_GENRES: tuple[str, ...] = (*DEFAULT_GENRES, "acoustic", "ambient")


TRACKS_FILE = "spotify_tracks.csv"

REPLAY_FILE = "replay_pool.csv"

PLAYLISTS_FILE = "mpd.slice.sample.json"

MANIFEST_FILE = "sample_manifest.json"

# Above SLICE_SIZE playlists: MPD slice files in this folder (what PLAYLIST_MPD_PATH points to).
MPD_DIR = "mpd"


def sliced(n_playlists: int) -> bool:
    """More playlists than one slice holds: written as the full-size dataset's slice files."""
    return n_playlists > SLICE_SIZE


@dataclass(frozen=True)
class SamplePaths:
    tracks_csv: Path
    playlists_json: Path
    replay_csv: Path


def sample_paths(dest: Path, n_playlists: int = 0) -> SamplePaths:
    """The files of a sample; ``playlists_json`` is the ``mpd/`` folder above one slice."""
    dest = Path(dest)
    playlists = dest / (MPD_DIR if sliced(n_playlists) else PLAYLISTS_FILE)
    return SamplePaths(dest / TRACKS_FILE, playlists, dest / REPLAY_FILE)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_bytes(tracks: pd.DataFrame) -> bytes:
    # Like the Kaggle file: a leading unnamed index column, False/True, "\n" line ends.
    return tracks.to_csv(index=True, lineterminator="\n").encode("utf-8")


def sample_manifest(seed: int, n_per_genre: int, n_playlists: int, replay_per_genre: int) -> dict:
    """What a sample was made with: a sample is current when its manifest says the same."""
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "n_per_genre": int(n_per_genre),
        "n_playlists": int(n_playlists),
        "replay_per_genre": int(replay_per_genre),
        "genres": list(SAMPLE_GENRES),
    }
    if sliced(n_playlists):
        manifest["slices"] = -(-int(n_playlists) // SLICE_SIZE)
    return manifest


def write_sample(
    dest: Path,
    *,
    seed: int = 42,
    n_per_genre: int = 300,
    n_playlists: int = 800,
    replay_per_genre: int = 150,
    progress: Callable[[int, int], None] | None = None,
) -> SamplePaths:
    """Write the catalogue, the replay pool and the playlists into ``dest`` (always).

    Up to SLICE_SIZE playlists: one file, the default sample's playlists. Above: the slices of
    the full-size dataset in ``mpd/`` (``progress(done, total)`` after each slice).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = sample_paths(dest, n_playlists)
    catalogue = generate_tracks(n_per_genre, SAMPLE_GENRES, seed)
    replay = generate_tracks(replay_per_genre, SAMPLE_GENRES, seed, stream="replay")
    _write_atomic(paths.tracks_csv, _csv_bytes(catalogue))
    _write_atomic(paths.replay_csv, _csv_bytes(replay))
    (dest / MANIFEST_FILE).unlink(missing_ok=True)  # a half-written sample is never current
    if sliced(n_playlists):
        write_slices(
            paths.playlists_json, catalogue, n_playlists, seed, held_back=replay, progress=progress
        )
    else:
        playlists = generate_playlists(catalogue, n_playlists, seed, held_back=replay)
        _write_atomic(paths.playlists_json, mpd_json(playlists).encode("ascii"))
    manifest = sample_manifest(seed, n_per_genre, n_playlists, replay_per_genre)
    _write_atomic(dest / MANIFEST_FILE, json.dumps(manifest, indent=2).encode() + b"\n")
    return paths


def ensure_sample(
    dest: Path,
    *,
    seed: int = 42,
    n_per_genre: int = 300,
    n_playlists: int = 800,
    replay_per_genre: int = 150,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SamplePaths:
    """The sample in ``dest``, written only when a file is missing or was made differently."""
    dest = Path(dest)
    paths = sample_paths(dest, n_playlists)
    wanted = sample_manifest(seed, n_per_genre, n_playlists, replay_per_genre)
    if not force and sample_is_current(dest, wanted):
        return paths
    return write_sample(
        dest,
        seed=seed,
        n_per_genre=n_per_genre,
        n_playlists=n_playlists,
        replay_per_genre=replay_per_genre,
        progress=progress,
    )


def sample_is_current(dest: Path, wanted: dict) -> bool:
    """All three files are there and the manifest matches ``wanted`` (see sample_manifest)."""
    n_playlists = int(wanted.get("n_playlists", 0))
    paths = sample_paths(Path(dest), n_playlists)
    manifest = Path(dest) / MANIFEST_FILE
    if not all(p.is_file() for p in (paths.tracks_csv, paths.replay_csv)):
        return False
    if sliced(n_playlists):
        slices = -(-n_playlists // SLICE_SIZE)
        if not all((paths.playlists_json / slice_file_name(i)).is_file() for i in range(slices)):
            return False
    elif not paths.playlists_json.is_file():
        return False
    try:
        return json.loads(manifest.read_text()) == wanted
    except (OSError, ValueError):
        return False
