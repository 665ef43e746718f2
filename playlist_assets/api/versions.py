"""What the serving state is made of, polled cheaply: is there something new to load?

- The model files (``genre_classifier``, ``genre_cluster_models/*``, ``track_cooccurrence`` and
  the recommender champion's and challenger's files and cards, ``recommender/*``, under
  ``<data folder>/models``): a ``stat`` each. They are replaced by one rename when a run writes
  them (a promotion rewrites ``genre_classifier`` or ``recommender/champion.json``; a retired
  challenger's files vanish), so a changed stamp means a new model.
- The warehouse tables (``song_index``, ``fresh_songs``): the Dagster instance's latest
  materialization events of those assets (one query), when an instance is there and knows
  ``song_index``; otherwise the warehouse file's stamp. The file itself is never opened here:
  DuckDB lets no one write while a reader holds it, and Dagster runs write it.

Polling never raises: an unreadable instance is reported once and the file stamp used instead.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from playlist_assets.lib.constants import DataFolder

log = logging.getLogger("playlist_assets.api")

MODEL_FILES = ("genre_classifier", "track_cooccurrence")
CLUSTER_MODELS = "genre_cluster_models"
# Assets whose latest materialization the watcher reads from the instance, in answer order.
WATCHED_ASSETS = ("song_index", "fresh_songs", "track_cooccurrence", "genre_classifier")
INDEX_ASSET = "song_index"
SONG_ASSETS = ("song_index", "fresh_songs", "genre_classifier")
WAL_SUFFIX = ".wal"  # DuckDB's write-ahead log beside the database file


class Materialization(NamedTuple):
    asset: str
    run_id: str
    timestamp: float
    partition: str | None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def _stamp(path: Path, name: str | None = None) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (name or path.name, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class Versions:
    """One poll: the model files' stamps, the warehouse's (when no instance speaks for it) and
    the instance's latest materializations. Equal versions: nothing new to load."""

    files: tuple[tuple[str, int, int], ...] = ()
    warehouse: tuple[tuple[str, int, int], ...] | None = None
    materializations: tuple[Materialization, ...] = field(default=())

    def token(self, name: str) -> str:
        """A short, stable tag of one model file's version (same file, same tag everywhere)."""
        stamp = next((s for s in self.files if s[0] == name), None)
        return hashlib.sha1(repr(stamp).encode()).hexdigest()[:8] if stamp else "none"

    def songs(self) -> tuple[Any, ...]:
        """What the song side of a recommender is built from (everything but the co-occurrence
        and the recommender cards): equal -> a promotion can keep the loaded songs."""
        from playlist_assets.lib.recommend import champion

        recommender_side = (champion.CANDIDATE, f"{champion.folder(Path()).name}/")
        return (
            tuple(s for s in self.files if not s[0].startswith(recommender_side)),
            self.warehouse,
            tuple(m for m in self.materializations if m.asset in SONG_ASSETS),
        )

    def fresh_songs_only(self, before: Versions) -> bool:
        """Whether, since ``before``, at most ``fresh_songs`` changed: the same model files and
        materializations but its (the warehouse file's stamp, when no instance speaks for it,
        says only that something in it changed: ``extend`` checks what)."""

        def others(v: Versions) -> tuple[Materialization, ...]:
            return tuple(m for m in v.materializations if m.asset != "fresh_songs")

        return self.files == before.files and others(self) == others(before)

    def index_info(self) -> dict[str, Any]:
        """Which materialization of the song index (and the fresh songs) this state read."""
        out: dict[str, Any] = {}
        for m in self.materializations:
            if m.asset in ("song_index", "fresh_songs"):
                out[m.asset] = {
                    "run_id": m.run_id,
                    "materialized_at": _iso(m.timestamp),
                    **({"partition": m.partition} if m.partition else {}),
                }
        if self.warehouse:
            out["warehouse_modified_at"] = _iso(max(s[1] for s in self.warehouse) / 1e9)
        return out


class VersionProbe:
    """Polls the versions of one data folder (and its Dagster instance, if any)."""

    def __init__(self, data_home: Path, dagster_home: Path | None) -> None:
        folder = DataFolder.at(Path(data_home))
        self.models = folder.models
        self.warehouse = folder.warehouse
        self.dagster_home = dagster_home
        from playlist_assets.lib.recommend import champion

        recommender = champion.folder(self.models)  # each role's file and its card
        self.files = [self.models / name for name in MODEL_FILES] + [
            recommender / f"{role}{suffix}"
            for role in (champion.CHAMPION, champion.CHALLENGER)
            for suffix in ("", ".json")
        ]
        self._instance: Any = None
        self._instance_failed = False

    def poll(self) -> Versions:
        files = [_stamp(p, str(p.relative_to(self.models))) for p in self.files]
        folder = self.models / CLUSTER_MODELS
        if folder.is_dir():
            files += [_stamp(p) for p in sorted(folder.iterdir()) if not p.name.startswith(".")]
        materializations = self._materializations()
        knows_index = any(m.asset == INDEX_ASSET for m in materializations)
        warehouse = None
        if not knows_index:  # DuckDB commits to the .wal first, the file at a checkpoint
            stamps = (
                _stamp(self.warehouse),
                _stamp(self.warehouse.with_name(self.warehouse.name + WAL_SUFFIX)),
            )
            warehouse = tuple(s for s in stamps if s is not None)
        return Versions(
            files=tuple(s for s in files if s is not None),
            warehouse=warehouse,
            materializations=materializations,
        )

    def _materializations(self) -> tuple[Materialization, ...]:
        instance = self._get_instance()
        if instance is None:
            return ()
        import dagster as dg

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                events = instance.get_latest_materialization_events(
                    [dg.AssetKey(name) for name in WATCHED_ASSETS]
                )
        except Exception as exc:  # an instance outage must not stop serving
            log.warning("dagster instance unreadable (%s); watching file stamps", exc)
            return ()
        out = []
        for name in WATCHED_ASSETS:
            entry = events.get(dg.AssetKey(name))
            if entry is not None:
                partition = entry.dagster_event.partition if entry.dagster_event else None
                out.append(Materialization(name, entry.run_id, entry.timestamp, partition))
        return tuple(out)

    def _get_instance(self) -> Any:
        home = self.dagster_home
        if self._instance is not None or self._instance_failed or home is None:
            return self._instance
        if not ((home / "dagster.yaml").is_file() or (home / "history").is_dir()):
            return None  # no instance yet; look again at the next poll
        try:
            import dagster as dg

            self._instance = dg.DagsterInstance.from_config(str(home))
        except Exception as exc:
            self._instance_failed = True
            log.warning("cannot open the dagster instance at %s (%s); watching files", home, exc)
        return self._instance

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
