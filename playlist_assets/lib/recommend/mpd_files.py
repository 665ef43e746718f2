"""Which files are MPD slices, and what a slice is called: light (no numpy, pandas or Arrow),
so the code location lists the slices of ``$PLAYLIST_MPD_PATH`` as partitions when it loads."""

from __future__ import annotations

from pathlib import Path

_SUFFIXES = (".json", ".json.gz")


class PlaylistFileError(ValueError):
    """An MPD file that cannot be read; the message names the file and where it went wrong."""


def mpd_files(path: str | Path) -> list[Path]:
    """The slice files under ``path`` (itself if a file), in name order."""
    path = Path(path).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
        if not files:
            raise PlaylistFileError(f"{path}: folder holds no MPD slice (*.json or *.json.gz)")
        return files
    raise PlaylistFileError(f"{path}: no such MPD file or folder")


def slice_key(path: str | Path) -> str:
    """A slice's name: the file name without ``.json``/``.json.gz`` (``mpd.slice.0-999``)."""
    name = Path(path).name
    for suffix in (".gz", ".json"):
        name = name.removesuffix(suffix)
    return name
