"""Loading MPD slices into the warehouse: one Parquet file per slice, then one combine.

Holding the Million Playlist Dataset as Python objects takes tens of GB, so the load has two
steps. ``convert_slice`` parses one slice file into a Parquet file of its own (the per-slice
step: any number can run at once, in any process or machine, each writing only its file; a
current Parquet file is reused, so a new slice is parsed alone). ``combine_slices`` is the only
step that writes the DuckDB warehouse: it interns the track ids over every slice's Parquet file
and writes the tables ``playlist_store`` reads:

- ``playlist_info``: one row per playlist (``playlist_no`` in file order, pid, name, slice)
- ``playlist_tracks``: one row per distinct track (``track_code``, track_uri, track_id, names)
- ``playlist_entries``: one row per entry (playlist_no, item, pos, track_code), in file order
- ``playlists``: a view with the long table's columns (pid, name, pos, track_uri, track_id,
  artist_name, track_name), what SQL users and ``mpd:<pid>`` references read
- ``playlist_slices``: every slice with its counts, or why it was quarantined
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from playlist_assets.lib.recommend.mpd_files import PlaylistFileError, slice_key
from playlist_assets.lib.recommend.playlists_io import read_slice

SLICES_DIR = "playlist_slices"  # under the data folder: the per-slice Parquet files
_META = b"playlist_assets.slice"
TABLES = ("playlist_info", "playlist_tracks", "playlist_entries")
VIEW = "playlists"
SLICES_TABLE = "playlist_slices"


def _fingerprint(source: Path) -> dict:
    stat = source.stat()
    return {"source": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass(frozen=True)
class SliceResult:
    """One slice after ``convert_slice``: its Parquet file, or why it was quarantined."""

    key: str
    source: Path
    parquet: Path | None
    playlists: int = 0
    entries: int = 0
    span: int = 0  # the largest playlist index in the file + 1
    pid_min: int = 0
    pid_max: int = -1
    reused: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _read_meta(path: Path) -> dict | None:
    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[_META])
    except (OSError, KeyError, ValueError):
        return None


def _current(source: Path, out_dir: Path) -> bool:
    meta = _read_meta(Path(out_dir) / f"{slice_key(source)}.parquet")
    try:
        return meta is not None and meta.get("fingerprint") == _fingerprint(source)
    except OSError:
        return False


def convert_slice(source: str | Path, out_dir: str | Path, *, force: bool = False) -> SliceResult:
    """``source`` as ``<out_dir>/<slice key>.parquet`` (replaced atomically), unless a Parquet file
    made from the same file (path, size, modification time) is there already. A bad file is
    not raised: the result carries the error line (file, playlist, track) and any Parquet file
    of an earlier version of the slice is removed, so it is never loaded."""
    source, out_dir = Path(source), Path(out_dir)
    key = slice_key(source)
    target = out_dir / f"{key}.parquet"
    try:
        fingerprint = _fingerprint(source)
    except OSError as exc:
        return SliceResult(key, source, None, error=f"{source}: cannot be read: {exc}")
    meta = None if force else _read_meta(target)
    if meta is not None and meta.get("fingerprint") == fingerprint:
        return SliceResult(key, source, target, **meta["counts"], reused=True)
    try:
        table = read_slice(source)
    except PlaylistFileError as exc:
        target.unlink(missing_ok=True)
        return SliceResult(key, source, None, error=str(exc))
    pids = table.column("pid").to_numpy()
    playlist = table.column("playlist").to_numpy()
    counts = {
        "playlists": int(len(np.unique(playlist))),
        "entries": table.num_rows,
        "span": int(playlist.max()) + 1 if table.num_rows else 0,
        "pid_min": int(pids.min()) if table.num_rows else 0,
        "pid_max": int(pids.max()) if table.num_rows else -1,
    }
    meta = {"fingerprint": fingerprint, "counts": counts}
    table = table.replace_schema_metadata({_META: json.dumps(meta).encode()})
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{key}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return SliceResult(key, source, target, **counts)


def convert_slices(
    sources: list[Path], out_dir: str | Path, *, workers: int = 1, force: bool = False
) -> list[SliceResult]:
    """``convert_slice`` for every file, in ``workers`` processes (each parses one slice at a
    time, so memory is flat in the number of slices); results in the order of ``sources``.
    Two files with the same slice name: the second is quarantined."""
    keys: dict[str, Path] = {}
    todo: list[Path] = []
    clashes: dict[int, SliceResult] = {}
    for i, source in enumerate(sources):
        key = slice_key(source)
        if key in keys:
            clashes[i] = SliceResult(
                key, source, None, error=f"{source}: same slice name as {keys[key]}; not loaded"
            )
        else:
            keys[key] = source
            todo.append(source)
    convert = functools.partial(convert_slice, out_dir=out_dir, force=force)
    # Processes only when there is parsing to share: starting one costs about a second.
    if workers > 1 and sum(1 for t in todo if force or not _current(t, out_dir)) >= 2 * workers:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # no fork of a threaded step process
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context) as pool:
            done = list(pool.map(convert, todo))
    else:
        done = [convert(source) for source in todo]
    results = iter(done)
    return [clashes[i] if i in clashes else next(results) for i in range(len(sources))]


def prune_slices(out_dir: str | Path, keep: set[str]) -> int:
    """Remove Parquet files of slices no longer in the source (a folder that changed)."""
    removed = 0
    for path in Path(out_dir).glob("*.parquet"):
        if path.stem not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def pid_offsets(slices: list[SliceResult]) -> dict[str, int]:
    """Slices whose pids collide with an earlier slice's are shifted past the largest pid so far
    (extracts renumbered independently), as ``read_playlists`` does. Disjoint pid ranges (the
    real dataset) are decided from the counts alone; only overlapping ones read their pids.
    Keyed by file name, like ``read_playlists``'s ``pid_offsets``."""
    offsets: dict[str, int] = {}
    ranges = sorted((s.pid_min, s.pid_max) for s in slices if s.entries)
    if all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False)):
        return offsets
    seen: set[int] = set()
    for s in slices:
        if not s.entries or s.parquet is None:
            continue
        pids = set(pq.read_table(s.parquet, columns=["pid"]).column("pid").unique().to_pylist())
        if seen and not pids.isdisjoint(seen):
            offsets[s.source.name] = max(seen) + 1 - min(pids)
            pids = {p + offsets[s.source.name] for p in pids}
        seen |= pids
    return offsets


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def combine_slices(con, slices: list[SliceResult], *, memory_limit: str | None = None) -> dict:
    """Write the warehouse tables from the loaded slices' Parquet files, in slice order, in one
    transaction (readers see the old tables or the new ones). Returns counts for metadata."""
    loaded = [s for s in slices if s.ok and s.entries]
    if not loaded:
        raise PlaylistFileError("no slice holds any playlist entry")
    offsets = pid_offsets(loaded)
    if memory_limit:
        con.execute(f"SET memory_limit = {_quote(memory_limit)}")
    base, rows = 0, []
    for s in loaded:  # playlist_no: the slice's base plus the playlist's index in its file
        rows.append(
            f"({_quote(s.key)}, {_quote(str(s.parquet))}, {base}, {offsets.get(s.source.name, 0)})"
        )
        base += s.span
    con.execute("BEGIN TRANSACTION")
    try:
        _drop_old(con)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE slice_files AS SELECT * FROM (VALUES "
            f"{', '.join(rows)}) t(slice, file, base, pid_offset)"
        )
        files = ", ".join(_quote(str(s.parquet)) for s in loaded)
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW slice_rows AS
            SELECT (f.base + r.playlist)::INTEGER AS playlist_no, f.slice,
                   r.pid + f.pid_offset AS pid, r.name, r.item, r.pos, r.track_uri,
                   r.artist_name, r.track_name
            FROM read_parquet([{files}], filename = true) r
            JOIN slice_files f ON r.filename = f.file"""
        )
        _write_tables(con)
        _record_slices(con, slices)
        con.execute("DROP VIEW slice_rows")
        con.execute("DROP TABLE slice_files")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    counts = con.execute(
        "SELECT (SELECT count(*) FROM main.playlist_info), "
        "(SELECT count(*) FROM main.playlist_tracks), (SELECT count(*) FROM main.playlist_entries), "
        "(SELECT median(n) FROM (SELECT count(*) AS n FROM main.playlist_entries "
        "GROUP BY playlist_no))"
    ).fetchone()
    return {
        "playlists": int(counts[0]),
        "distinct_tracks": int(counts[1]),
        "entries": int(counts[2]),
        "median_playlist_length": float(counts[3]),
        "pid_offsets": offsets,
    }


def _drop_old(con) -> None:
    """The long ``playlists`` table of earlier versions makes way for the view."""
    kinds = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            f"WHERE table_schema = 'main' AND table_name = {_quote(VIEW)}"
        ).fetchall()
    )
    if kinds.get(VIEW) == "BASE TABLE":
        con.execute(f"DROP TABLE main.{VIEW}")


def _record_slices(con, slices: list[SliceResult]) -> None:
    """``playlist_slices``: every slice of the source, loaded or quarantined and why."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "slice": [s.key for s in slices],
            "file": [str(s.source) for s in slices],
            "status": ["loaded" if s.ok else "quarantined" for s in slices],
            "playlists": pd.array([s.playlists for s in slices], dtype="int64"),
            "entries": pd.array([s.entries for s in slices], dtype="int64"),
            "reason": pd.array([s.error for s in slices], dtype="string"),
        }
    )
    con.register("slice_results", frame)
    con.execute(f"CREATE OR REPLACE TABLE main.{SLICES_TABLE} AS SELECT * FROM slice_results")
    con.unregister("slice_results")


def _write_tables(con) -> None:
    """The interned tables, each stored in file order (playlist_no, then the entry's index)."""
    con.execute(
        """CREATE OR REPLACE TABLE main.playlist_info AS
        SELECT playlist_no, any_value(pid) AS pid, any_value(name) AS name,
               any_value(slice) AS slice, count(*)::INTEGER AS tracks
        FROM slice_rows GROUP BY playlist_no ORDER BY playlist_no"""
    )
    # Track codes in order of first appearance; a track's names are those it first came with.
    con.execute(
        """CREATE OR REPLACE TABLE main.playlist_tracks AS
        SELECT (row_number() OVER (ORDER BY first_key) - 1)::INTEGER AS track_code,
               track_uri, substr(track_uri, 15) AS track_id, artist_name, track_name
        FROM (SELECT track_uri, min(playlist_no::BIGINT * 32768 + item) AS first_key,
                     arg_min(artist_name, playlist_no::BIGINT * 32768 + item) AS artist_name,
                     arg_min(track_name, playlist_no::BIGINT * 32768 + item) AS track_name
              FROM slice_rows GROUP BY track_uri)
        ORDER BY track_code"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE main.playlist_entries AS
        SELECT s.playlist_no, s.item, s.pos, t.track_code
        FROM slice_rows s JOIN main.playlist_tracks t USING (track_uri)
        ORDER BY s.playlist_no, s.item"""
    )
    con.execute(
        f"""CREATE OR REPLACE VIEW main.{VIEW} AS
        SELECT i.pid, i.name, e.pos, t.track_uri, t.track_id, t.artist_name, t.track_name
        FROM main.playlist_entries e
        JOIN main.playlist_info i USING (playlist_no)
        JOIN main.playlist_tracks t USING (track_code)"""
    )
