"""Read Spotify Million Playlist Dataset (MPD) JSON into one tidy, long DataFrame.

Accepts a slice file or a folder of slices, plain or gzipped, in the original MPD schema or the
reduced one (no ``pos``, fewer fields). Files are parsed as a stream, one playlist object at a
time, into Arrow columns (``read_slice``: what the warehouse load converts each slice with);
``read_playlists`` joins them into one DataFrame with categorical strings, for inputs that fit
in memory (a request's playlists, tests, the real 6,544-playlist extract).
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from playlist_assets.lib.recommend.mpd_files import PlaylistFileError, mpd_files
from playlist_assets.lib.schema import TRACK_URI_PREFIX

__all__ = [
    "PLAYLIST_COLUMNS",
    "SLICE_SCHEMA",
    "PlaylistFileError",
    "iter_playlists",
    "mpd_files",
    "read_playlists",
    "read_slice",
]

log = logging.getLogger(__name__)

PLAYLIST_COLUMNS: tuple[str, ...] = (
    "pid",
    "name",
    "pos",
    "track_uri",
    "track_id",
    "artist_name",
    "track_name",
)

_CHUNK = 1 << 20


class _Stream:
    """A forward-only JSON tokenizer over a text file that decodes one value at a time."""

    def __init__(self, fh, path: Path) -> None:
        self._fh = fh
        self._path = path
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number of self._buf[0]
        self._decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = self._fh.read(_CHUNK)
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
            raise PlaylistFileError(f"{self._path}: cannot be read: {exc}") from exc
        if not chunk:
            self._eof = True
            return False
        if self._pos > _CHUNK:
            self._line += self._buf.count("\n", 0, self._pos)
            self._buf = self._buf[self._pos :]
            self._pos = 0
        self._buf += chunk
        return True

    def where(self, pos: int | None = None) -> str:
        pos = self._pos if pos is None else pos
        line = self._line + self._buf.count("\n", 0, pos)
        col = pos - (self._buf.rfind("\n", 0, pos) + 1) + 1
        return f"line {line} column {col}"

    def error(self, message: str, pos: int | None = None) -> PlaylistFileError:
        return PlaylistFileError(f"{self._path}: {message} at {self.where(pos)}")

    def peek(self) -> str:
        """The next non-blank character ('' at end of file), not consumed."""
        while True:
            buf, n = self._buf, len(self._buf)
            pos = self._pos
            while pos < n and buf[pos] in " \t\r\n":
                pos += 1
            self._pos = pos
            if pos < n:
                return buf[pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            shown = repr(found) if found else "end of file"
            wanted = " or ".join(repr(c) for c in chars)
            raise self.error(f"malformed JSON: expected {wanted}, found {shown}")
        self._pos += 1
        return found

    def value(self):
        """Decode the next complete JSON value, reading more of the file as needed."""
        self.peek()
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                raise self.error(f"malformed JSON ({exc.msg})", exc.pos) from None
            # A number at the very end of the buffer may continue in the next chunk.
            if end == len(self._buf) and not self._eof and self._fill():
                continue
            self._pos = end
            return obj


def iter_playlists(path: str | Path) -> Iterator[dict]:
    """Yield the playlist objects of one MPD file, one at a time, in file order."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        fh = opener(path, "rt", encoding="utf-8")
    except OSError as exc:
        raise PlaylistFileError(f"{path}: cannot be opened: {exc}") from exc
    with fh:
        stream = _Stream(fh, path)
        stream.expect("{")
        found = False
        if stream.peek() == "}":
            stream.expect("}")
        else:
            while True:
                key = stream.value()
                if not isinstance(key, str):
                    raise stream.error("malformed JSON: object key is not a string")
                stream.expect(":")
                if key == "playlists":
                    found = True
                    stream.expect("[")
                    if stream.peek() == "]":
                        stream.expect("]")
                    else:
                        while True:
                            yield stream.value()
                            if stream.expect(",]") == "]":
                                break
                else:
                    stream.value()
                if stream.expect(",}") == "}":
                    break
        if stream.peek():
            raise stream.error("malformed JSON: unexpected data after the top-level object")
    if not found:
        raise PlaylistFileError(f'{path}: not an MPD file: no "playlists" array at the top level')


# One MPD file as columns: one row per playlist entry, in file order. ``playlist`` is the
# playlist's index in the file and ``item`` the entry's index in its track list (``pos`` is what
# the file says, the list index when it says nothing).
SLICE_SCHEMA = pa.schema(
    [
        ("playlist", pa.int32()),
        ("pid", pa.int64()),
        ("name", pa.string()),
        ("item", pa.int16()),
        ("pos", pa.int32()),
        ("track_uri", pa.string()),
        ("artist_name", pa.string()),
        ("track_name", pa.string()),
    ]
)
_MAX_TRACKS = 32_767  # ``item`` is int16; the MPD caps playlists at 250 tracks


def _uri_problem(uri: object) -> str | None:
    """Why a track_uri is unusable, or None."""
    if not isinstance(uri, str) or not uri.startswith(TRACK_URI_PREFIX):
        return f"has track_uri {uri!r}, expected '{TRACK_URI_PREFIX}<id>'"
    if not uri[len(TRACK_URI_PREFIX) :].strip():
        return f"has track_uri {uri!r} with no track id after '{TRACK_URI_PREFIX}'"
    return None


def _header(path: Path, index: int, playlist: object, seen: set[int]) -> tuple[int, list, str]:
    """A playlist's pid, track list and name, checked; the error names file and playlist."""
    where = f"{path}: playlist #{index}"
    if not isinstance(playlist, dict):
        raise PlaylistFileError(f"{where} is not a JSON object")
    pid = playlist.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise PlaylistFileError(f"{where}: 'pid' must be an integer, got {pid!r}")
    where = f"{path}: playlist #{index} (pid {pid})"
    if pid in seen:
        raise PlaylistFileError(f"{where}: pid {pid} appears twice in the file")
    seen.add(pid)
    tracks = playlist.get("tracks")
    if not isinstance(tracks, list):
        raise PlaylistFileError(f"{where}: 'tracks' must be a list")
    if len(tracks) > _MAX_TRACKS:
        raise PlaylistFileError(f"{where}: {len(tracks)} tracks, more than {_MAX_TRACKS}")
    name = playlist.get("name")
    return pid, tracks, "" if name is None else str(name)


def _track_error(where: str, tracks: list) -> PlaylistFileError:
    """The first track a fast read could not take, named (the slow path, on errors only)."""
    for i, track in enumerate(tracks):
        try:
            uri = track["track_uri"]
        except (KeyError, TypeError, IndexError):
            return PlaylistFileError(f"{where}: track {i} has no 'track_uri'")
        if not isinstance(track, dict):
            return PlaylistFileError(f"{where}: track {i} is not a JSON object")
        problem = _uri_problem(uri)
        if problem:
            return PlaylistFileError(f"{where}: track {i} {problem}")
        pos = track.get("pos", i)
        if isinstance(pos, bool) or not isinstance(pos, int):
            return PlaylistFileError(f"{where}: track {i} has pos {pos!r}, expected an integer")
    return PlaylistFileError(f"{where}: unreadable track list")


def _texts(values: list) -> pa.Array:
    """Names as text: missing ones empty, numbers as written (what the old reader stored)."""
    try:
        return pc.fill_null(pa.array(values, pa.string()), "")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([str(v or "") for v in values], pa.string())


def read_slice(path: str | Path) -> pa.Table:
    """One MPD file as columns (``SLICE_SCHEMA``), every playlist and track checked.

    The JSON is parsed one playlist at a time; each track list is taken apart with list
    comprehensions and checked with Arrow kernels per file, and only a file with a bad value
    walks the offending playlist again to name it: PlaylistFileError says file, playlist (index
    and pid) and track.
    """
    path = Path(path)
    seen: set[int] = set()
    heads: list[tuple[int, str, int]] = []
    wheres: list[str] = []
    uris: list = []
    poss: list = []
    artists: list = []
    titles: list = []
    for index, playlist in enumerate(iter_playlists(path)):
        pid, tracks, name = _header(path, index, playlist, seen)
        where = f"{path}: playlist #{index} (pid {pid})"
        try:
            uris += [t["track_uri"] for t in tracks]
            poss += [t.get("pos", i) for i, t in enumerate(tracks)]
            artists += [t.get("artist_name") for t in tracks]
            titles += [t.get("track_name") for t in tracks]
        except (KeyError, TypeError, AttributeError, IndexError):
            raise _track_error(where, tracks) from None
        heads.append((pid, name, len(tracks)))
        wheres.append(where)
    counts = np.array([n for _, _, n in heads], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])

    def fail(row: int, problem: str) -> PlaylistFileError:
        owner = int(np.searchsorted(starts, row, side="right")) - 1
        return PlaylistFileError(f"{wheres[owner]}: track {row - starts[owner]} {problem}")

    try:
        uri = pa.array(uris, pa.string())
        ok = pc.and_kleene(
            pc.starts_with(uri, TRACK_URI_PREFIX),
            pc.greater(
                pc.utf8_length(
                    pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(uri, len(TRACK_URI_PREFIX)))
                ),
                0,
            ),
        )
        bad = pc.index(pc.fill_null(ok, False), False).as_py()
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        bad = next(i for i, u in enumerate(uris) if _uri_problem(u))
    if bad >= 0:
        raise fail(bad, str(_uri_problem(uris[bad])))
    bad_pos = next((i for i, p in enumerate(poss) if type(p) is not int), None)
    if bad_pos is not None:
        raise fail(bad_pos, f"has pos {poss[bad_pos]!r}, expected an integer")
    playlist_of = np.repeat(np.arange(len(heads), dtype=np.int32), counts)
    return pa.table(
        {
            "playlist": playlist_of,
            "pid": np.array([p for p, _, _ in heads], dtype=np.int64)[playlist_of],
            "name": pa.array([n for _, n, _ in heads], pa.string()).take(playlist_of),
            "item": (np.arange(len(uris)) - starts[:-1][playlist_of]).astype(np.int16),
            "pos": pa.array(poss, pa.int32()),
            "track_uri": uri,
            "artist_name": _texts(artists),
            "track_name": _texts(titles),
        },
        schema=SLICE_SCHEMA,
    )


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    encoded = column.combine_chunks().dictionary_encode()
    return pd.Categorical.from_codes(
        encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32),
        pd.Index(encoded.dictionary.to_pylist(), dtype=object),
    )


def read_playlists(path: str | Path) -> pd.DataFrame:
    """One row per playlist entry: ``pid, name, pos, track_uri, track_id, artist_name, track_name``.

    String columns are categorical (shared dictionaries). Within a folder, slices keep their pids;
    a slice whose pids collide with an earlier slice's (extracts renumbered independently) is
    shifted past the largest pid read so far, and ``df.attrs["pid_offsets"]`` records by how much.
    For the whole dataset, use the warehouse instead (``playlist_store``): this holds it in memory.
    """
    files = mpd_files(path)
    tables: list[pa.Table] = []
    offsets: dict[str, int] = {}
    largest: int | None = None
    all_pids: set[int] = set()
    for file in files:
        table = read_slice(file)
        pids = set(table.column("pid").unique().to_pylist())
        if all_pids and not pids.isdisjoint(all_pids):
            offset = int(largest) + 1 - min(pids)  # type: ignore[arg-type]
            table = table.set_column(
                1, "pid", pc.add(table.column("pid"), pa.scalar(offset, pa.int64()))
            )
            pids = {p + offset for p in pids}
            offsets[file.name] = offset
            log.warning("%s: pids collide with earlier slices; shifted by %d", file, offset)
        all_pids |= pids
        largest = max(all_pids) if all_pids else largest
        tables.append(table)
    table = pa.concat_tables(tables)
    uri = _categorical(table.column("track_uri"))
    track_ids = uri.categories.str.slice(len(TRACK_URI_PREFIX))
    df = pd.DataFrame(
        {
            "pid": table.column("pid").to_numpy(),
            "name": _categorical(table.column("name")),
            "pos": table.column("pos").to_numpy(),
            "track_uri": uri,
            "track_id": pd.Categorical.from_codes(uri.codes, track_ids),
            "artist_name": _categorical(table.column("artist_name")),
            "track_name": _categorical(table.column("track_name")),
        },
        columns=list(PLAYLIST_COLUMNS),
    )
    df.attrs["pid_offsets"] = offsets
    df.attrs["files"] = [str(f) for f in files]
    return df
