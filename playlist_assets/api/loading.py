"""What loading a serving state takes, apart from the holder's watcher and swap: the default
loaders, a kept song side rebound to the promoted co-occurrence, the one warming request, the
size of a co-occurrence side (what a fork beside it keeps mapped), the loader thread's niceness
and handing freed memory back to the system (Arrow's included; ``lib.memory``)."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from playlist_assets.lib.constants import DataFolder
from playlist_assets.lib.memory import trim_freed as trim_freed  # the API's name for it too

log = logging.getLogger("playlist_assets.api")

WARM_SEEDS = 5
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LOADER_NICENESS = 10


def default_challenger(data_home: Path) -> tuple[Any, str] | None:
    """The challenger's co-occurrence and card version, when ``recommendation_eval`` kept one."""
    from playlist_assets.lib.recommend import champion

    found = champion.challenger(DataFolder.at(data_home).models)
    return None if found is None else (found[0], found[1].version)


def default_loader(data_home: Path, current: Any | None = None) -> Any:
    """A full load; ``current``: the recommender serving now, whose songs, models and
    co-occurrence are kept where the warehouse and the model files still hold them (``reuse``:
    a reload beside it otherwise held two whole recommenders)."""
    from playlist_assets.lib.recommend.load import load_recommender

    system_allocator()
    return load_recommender(data_home, extendable=True, current=current)


def default_extender(current: Any, data_home: Path) -> Any | None:
    """``current`` with the fresh songs landed since its load appended (``extend``), or None
    when more changed and a full load is needed. An extension that fails for any reason but
    the warehouse's lock is logged and None returned, so the full load decides: a broken
    extension must not leave the service on the old songs until the next hour."""
    import duckdb

    from playlist_assets.lib.recommend.extend import extend_recommender

    try:
        return extend_recommender(current, DataFolder.at(data_home).warehouse)
    except duckdb.IOException:
        raise  # the writer holds the warehouse: a full load would fail the same way
    except Exception:
        log.exception("appending the fresh songs failed; loading the songs in full")
        return None


def songs_of(loaded: Any, serving: Any | None) -> str:
    """How a full load came by its songs: "songs kept" when it shares the ``serving``
    recommender's (unchanged in the warehouse: ``reuse``), else "loaded"."""
    from playlist_assets.lib.recommend.reuse import same_songs

    kept = serving is not None and same_songs(loaded.table, serving.table)
    return "songs kept" if kept else "loaded"


def system_allocator() -> None:
    """Arrow's buffers (the songs' text columns, the encoding of answers) from glibc's malloc:
    its big blocks go back to the system when freed (``trim_freed`` the rest), where Arrow's
    default mimalloc keeps a load's temporaries (~150 MiB at a year of fresh songs); blocks of
    256 KiB and more mapped on their own, so they go back as soon as they are freed."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    # A fixed threshold: glibc otherwise raises it to the size of each big block freed, and the
    # next load's temporaries then come from (and stay in) the heap rather than their own maps.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 256 * 1024)


def rebound(current: Any, data_home: Path) -> Any:
    """The serving recommender's co-occurrence (``champion.serving``) on ``current``'s songs."""
    from playlist_assets.lib.recommend import champion

    cooccurrence, card = champion.serving(DataFolder.at(data_home).models)
    other = current.with_cooccurrence(cooccurrence)
    other.version = card.version if card is not None else None  # model_version_of: candidate
    return other


def evidence_bytes(recommender: Any) -> int:
    """Bytes of a recommender's co-occurrence side (``Evidence``, aligned to the songs, and the
    co-occurrence it was read from): its arrays and sparse matrices, what a fork beside it
    keeps mapped."""
    evidence = getattr(recommender, "evidence", None)
    parts = [*vars(evidence).values()] if evidence is not None else []
    if getattr(evidence, "cooccurrence", None) is not None:
        parts += vars(evidence.cooccurrence).values()
    total = 0
    for part in parts:
        if isinstance(part, np.ndarray):
            total += part.nbytes
        elif sp.issparse(part):
            arrays = (getattr(part, name, None) for name in ("data", "indices", "indptr"))
            total += sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
    return total


def lower_priority() -> bool:
    """Linux: this thread's own niceness, so requests keep their CPU share during a load."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOADER_NICENESS)
    return True


def warm(recommender: Any) -> None:
    """One request before the swap: a broken state fails here, not in front of a client, and
    lazily built parts (the first posteriors) are built by this thread, not by requests."""
    seeds = [str(i) for i in recommender.ids[:WARM_SEEDS]]
    recommender.rank(seeds, 10, allow_unknown=True)
