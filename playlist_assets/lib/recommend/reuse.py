"""What a full load keeps of the recommender serving now, instead of loading it again.

The service loads in full, beside the state still serving, when more than a fresh hour changed
(a promotion of the genre classifier, a new ``song_index``, a forced reload): two whole
recommenders at its peak (~2x one at a year of fresh songs), though such a load often finds
most of the serving one unchanged. Given the serving recommender (``load_recommender(current=)``):

- the songs are not read again when the warehouse's song tables print as they did when its
  table was read (``load.SongSource``: rows, their order, columns and types); the new table is
  built on the serving table's storage (``SongTable.reloaded``), and only what depends on the
  models is computed anew, in buffers of its own when they differ (``SongStore.sibling``);
- the classifier and cluster models, and the co-occurrence, are kept when their files are
  those it was loaded from (``stamp``: the files are only ever replaced by a rename, so a
  file with the same device, inode, size and modification time holds the same model).

Anything that differs is loaded as a first load loads it: the answers are a fresh load's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Stamp = tuple[tuple[str, int, int, int, int], ...]


def stamp(*paths: Path) -> Stamp | None:
    """The files' (name, device, inode, size, modification time); None when one is missing."""
    out = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            return None
        out.append((path.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _model_files(models: Path) -> list[Path]:
    from playlist_assets.lib.classifier.artifacts import classifier_path

    folder = Path(models) / "genre_cluster_models"
    clusters = sorted(folder.iterdir()) if folder.is_dir() else []
    return [classifier_path(models), *(p for p in clusters if not p.name.startswith("."))]


def song_models(models: Path, current: Any | None) -> tuple[Any, dict[str, Any], Stamp | None]:
    """The classifier, the cluster models and their files' stamp: the serving table's when
    its files are still those (``current``: the serving recommender, or None)."""
    from playlist_assets.lib.classifier.artifacts import load_classifier, load_cluster_models

    now = stamp(*_model_files(models))
    table = None if current is None else current.table
    if now is not None and table is not None and getattr(table, "models_stamp", None) == now:
        return table.classifier, table.cluster_models, now
    return load_classifier(models), load_cluster_models(models), now


def cooccurrence(models: Path, current: Any | None) -> tuple[Any, Any, Stamp | None]:
    """The serving co-occurrence (``champion.serving``), its card and its file's stamp: the
    serving recommender's own object when it was loaded from that file."""
    from playlist_assets.lib.classifier.artifacts import load_artifact
    from playlist_assets.lib.recommend import champion

    path, asset, info = champion.serving_file(models)
    now = stamp(path)
    loaded = getattr(current, "loaded_cooccurrence", None)  # (stamp, the object loaded)
    # the object itself too: not one attached since (``with_cooccurrence`` copies the stamp)
    if (
        now is not None
        and loaded is not None
        and loaded[0] == now
        and loaded[1] is current.cooccurrence
    ):
        return current.cooccurrence, info, now
    return load_artifact(path, asset), info, now


def reloaded(
    table: Any,
    classifier: Any | None,
    cluster_models: dict[str, Any] | None,
    now: Any = None,
    *,
    same_models: bool,
) -> Any:
    """A ``SongTable`` of ``table``'s songs for ``classifier`` and ``cluster_models`` (a full
    load that found the songs unchanged), built on ``table``'s storage (``table`` itself
    unchanged: it may be serving) as an extension by no song is. With other models, the
    posteriors, and the genre codes when the genres differ, are computed anew in buffers of
    its own (``SongStore.sibling``)."""
    from playlist_assets.lib.recommend.songs import SongTable, genre_list

    if same_models:
        store, genres = table.store, table.genres
    else:
        genres = genre_list(classifier, table.songs["track_genre"])
        store = table.store.sibling(len(genres), keep_genre=genres == table.genres)
    return SongTable.on(store, table.n, classifier, cluster_models, genres, now, table)


def same_songs(table: Any, other: Any) -> bool:
    """Whether ``table`` lists ``other``'s songs on the same storage (``reloaded``)."""
    return table.n == other.n and table.store.columns is other.store.columns
