"""The playlists as the warehouse holds them, read in pieces (``playlist_load`` writes them).

``PlaylistStore`` is what the ``playlists`` asset hands downstream instead of a DataFrame: a
handle on the interned tables, read with SQL only as far as a step needs. Co-occurrence reads
integer codes chunk by chunk (``chunks``); the evaluation reads the few playlists it scores
(``frame``). A store can be narrowed to some playlists (``select``) or without some tracks
(``without``) and stays a handle.

The functions at the end take either a store or a long DataFrame (the reader's
``read_playlists``), so the recommender's code runs on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

CHUNK_PLAYLISTS = 100_000  # playlists per co-occurrence chunk (~6.6 M entries of the MPD)
_ENTRY_COLUMNS = ("pid", "name", "pos", "track_uri", "track_id", "artist_name", "track_name")


class PlaylistsMissing(RuntimeError):
    """The warehouse has no playlists tables: ``playlists`` was never materialized there."""


@dataclass(frozen=True)
class PlaylistStore:
    """The playlists tables of one DuckDB file; ``pids``/``tracks_out`` narrow what is read."""

    database: Path
    pids: frozenset[int] | None = field(default=None, compare=False)
    tracks_out: frozenset[str] = field(default_factory=frozenset, compare=False)

    @contextmanager
    def _connect(self):
        import duckdb

        con = duckdb.connect(str(self.database), read_only=True)
        try:
            if self.pids is not None:
                con.register("_pids", pa.table({"pid": np.fromiter(self.pids, np.int64)}))
            if self.tracks_out:
                con.register("_out", pa.table({"track_id": sorted(self.tracks_out)}))
            yield con
        except duckdb.CatalogException as exc:
            raise PlaylistsMissing(
                f"{self.database}: no playlists tables ({exc}); materialize the playlists asset"
            ) from exc
        finally:
            con.close()

    def _pid_filter(self, info: str = "i") -> str:
        return "TRUE" if self.pids is None else f"{info}.pid IN (SELECT pid FROM _pids)"

    def _where(self) -> str:
        """SQL conditions for the narrowing, over ``playlist_entries e JOIN playlist_info i``."""
        parts = [self._pid_filter("i")]
        if self.tracks_out:
            parts.append(
                "e.track_code NOT IN (SELECT t.track_code FROM main.playlist_tracks t "
                "JOIN _out USING (track_id))"
            )
        return " AND ".join(parts)

    # -- narrowing -----------------------------------------------------------------------------

    def select(self, pids: Iterable[int]) -> PlaylistStore:
        """Only these playlists (and those of any earlier narrowing)."""
        chosen = frozenset(int(p) for p in pids)
        return replace(self, pids=chosen if self.pids is None else chosen & self.pids)

    def without(self, track_ids: Iterable[str]) -> PlaylistStore:
        """Without the rows of these tracks."""
        return replace(self, tracks_out=self.tracks_out | frozenset(map(str, track_ids)))

    # -- reading -------------------------------------------------------------------------------

    def playlist_ids(self) -> np.ndarray:
        """The pids of the playlists (with at least one entry left), in file order."""
        with self._connect() as con:
            query = "SELECT i.pid, i.playlist_no FROM main.playlist_info i WHERE "
            query += self._pid_filter("i")
            if self.tracks_out:  # a playlist whose every entry is stripped is no longer there
                query = (
                    "SELECT DISTINCT i.pid, i.playlist_no FROM main.playlist_entries e "
                    "JOIN main.playlist_info i USING (playlist_no) WHERE " + self._where()
                )
            query = f"SELECT pid FROM ({query}) ORDER BY playlist_no"
            return con.execute(query).fetchnumpy()["pid"].astype(np.int64)

    def frame(self, pids: Iterable[int] | None = None) -> pd.DataFrame:
        """The long table's rows of these playlists (all when None), in file order."""
        store = self if pids is None else self.select(pids)
        with store._connect() as con:
            return con.execute(
                f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM ("
                "SELECT i.pid, i.name, e.pos, t.track_uri, t.track_id, t.artist_name, "
                "t.track_name, e.playlist_no, e.item FROM main.playlist_entries e "
                "JOIN main.playlist_info i USING (playlist_no) "
                "JOIN main.playlist_tracks t USING (track_code) "
                f"WHERE {store._where()}) ORDER BY playlist_no, item"
            ).df()

    def chunks(
        self, pids: Iterable[int], size: int = CHUNK_PLAYLISTS
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(playlist_no, track_code) of the entries of these playlists, in file order, ``size``
        playlists at a time; a playlist never spans two chunks."""
        store = self.select(pids)
        with store._connect() as con:
            numbers = con.execute(
                "SELECT i.playlist_no FROM main.playlist_info i WHERE "
                + store._pid_filter("i")
                + " ORDER BY i.playlist_no"
            ).fetchnumpy()["playlist_no"]
            if not len(numbers):
                return
            keep = np.zeros(int(numbers.max()) + 1, dtype=bool)
            keep[numbers] = True
            out = store._codes_out(con)
            for start in range(0, len(numbers), size):
                lo, hi = int(numbers[start]), int(numbers[min(start + size, len(numbers)) - 1])
                got = con.execute(
                    "SELECT playlist_no, track_code FROM main.playlist_entries "
                    f"WHERE playlist_no BETWEEN {lo} AND {hi}"
                ).fetchnumpy()
                playlist = got["playlist_no"].astype(np.int64)
                code = got["track_code"].astype(np.int64)
                mask = keep[playlist]
                if out is not None:
                    mask &= ~out[code]
                yield playlist[mask], code[mask]

    def _codes_out(self, con) -> np.ndarray | None:
        if not self.tracks_out:
            return None
        codes = con.execute(
            "SELECT t.track_code FROM main.playlist_tracks t JOIN _out USING (track_id)"
        ).fetchnumpy()["track_code"]
        n = con.execute("SELECT count(*) FROM main.playlist_tracks").fetchone()[0]
        out = np.zeros(int(n), dtype=bool)
        out[codes] = True
        return out

    def tracks(self, codes: np.ndarray) -> pd.DataFrame:
        """track_id and artist_name of these track codes, in the order given."""
        with self._connect() as con:
            con.register("_codes", pa.table({"track_code": np.asarray(codes, dtype=np.int32)}))
            found = con.execute(
                "SELECT c.track_code, t.track_id, t.artist_name FROM _codes c "
                "JOIN main.playlist_tracks t USING (track_code)"
            ).df()
        return found.set_index("track_code").loc[np.asarray(codes)].reset_index()


# -- either a store or a long DataFrame ---------------------------------------------------------


def playlist_pids(playlists: pd.DataFrame | PlaylistStore) -> np.ndarray:
    """The distinct pids, in order of appearance."""
    if isinstance(playlists, PlaylistStore):
        return playlists.playlist_ids()
    return pd.unique(playlists["pid"].to_numpy())


def select_playlists(
    playlists: pd.DataFrame | PlaylistStore, pids: Iterable[int]
) -> pd.DataFrame | PlaylistStore:
    """Only the rows of these playlists."""
    if isinstance(playlists, PlaylistStore):
        return playlists.select(pids)
    return playlists[playlists["pid"].isin(set(pids))]


def holds_any(playlists: pd.DataFrame | PlaylistStore, pids: Iterable[int]) -> bool:
    """Whether any of these playlists has a row."""
    if isinstance(playlists, PlaylistStore):
        return bool(len(playlists.select(pids).playlist_ids()))
    return bool(playlists["pid"].isin(set(pids)).any())
