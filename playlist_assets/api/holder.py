"""The serving state and its hot swap: requests read one reference, a watcher replaces it.

A ``ServingState`` is immutable once built: the loaded recommender, the model version it
answers with and the materializations it read. Requests take the current reference once and use
only it, so a swap never changes a request's state half-way. The watcher thread polls the
versions (``versions``); when they changed and then held still for one poll (a retrain writes
several assets in a row), it loads the new state in the background (at lower CPU priority when
the threads rank), computes every song's posteriors (``SongTable.warm_up``) and answers one
request with it, then swaps the reference. Until the swap the old state answers; after it, the
old one is freed, and its ranking processes exit, as soon as the requests still using it finish
(two full copies are held only while a full load of changed songs runs: when only ``fresh_songs``
hours landed, their songs are appended, the new state sharing the old one's per-song storage,
``extend``; a full load keeps the songs, models and co-occurrence that did not change, ``reuse``).
Requests never wait for a load. The new state's ranking processes (``pool``) are forked before
the swap after a promotion (the songs are kept: ``_fork_before_swap``), after the replaced state
is freed after new songs (``_fork_pools``).

Loading reads the warehouse into memory and closes it (``load_recommender``): a materialization
holding DuckDB's writer lock makes the load fail with a lock error; the state in memory keeps
answering and the load is tried again at the next poll.

Arms (issue 23): when ``models/recommender/challenger`` exists, the load also builds the
challenger's recommender on the champion's song side (``Recommender.with_cooccurrence``: one copy
of the songs for both), and both states are swapped in by one assignment. A request's arm is
``contract.arm_of(listener, share)``: stable per listener, the configured share on the
challenger; without a challenger everyone gets the champion.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playlist_assets.api.hourly_log import iso_ms, utc_now
from playlist_assets.api.loading import (
    default_challenger,
    default_extender,
    default_loader,
    evidence_bytes,
    lower_priority,
    rebound,
    songs_of,
    trim_freed,
    warm,
)
from playlist_assets.api.metrics import ApiMetrics
from playlist_assets.api.pool import RankingPool, reap
from playlist_assets.api.state import LoadStatus, ServingState, SongColumns
from playlist_assets.api.versions import VersionProbe, Versions
from playlist_assets.lib.feedback.contract import CHALLENGER, CHAMPION, arm_of

log = logging.getLogger("playlist_assets.api")

# A state still changing after this long is loaded anyway (a very long retrain).
MAX_SETTLE_SECONDS = 120.0
# How long a swap waits for the replaced state's last request before forking ranking processes.
RELEASE_WAIT_SECONDS = 30.0


class StateHolder:
    """The current serving state per arm, and the watcher thread that replaces it."""

    def __init__(
        self,
        data_home: Path,
        probe: VersionProbe,
        metrics: ApiMetrics,
        *,
        poll_seconds: float,
        challenger_share: float = 0.0,
        processes: int = 0,
        prefork_max_bytes: int = 0,
        loader: Callable[[Path, Any | None], Any] = default_loader,
        extender: Callable[[Any, Path], Any | None] = default_extender,
        challenger_loader: Callable[[Path], tuple[Any, str] | None] = default_challenger,
    ) -> None:
        self.data_home = Path(data_home)
        self.probe = probe
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.challenger_share = challenger_share
        self.processes = processes
        self.prefork_max_bytes = prefork_max_bytes
        self._loader = loader
        self._extend = extender
        self._challenger_loader = challenger_loader
        self._states: dict[str, ServingState] = {}
        self.status = LoadStatus()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._forced = False
        self._thread: threading.Thread | None = None
        self._released: list[str] = []  # versions whose state was freed since the last poll
        self._replaced_freed: threading.Event | None = None  # set once the last swap's is freed
        # Ranking processes are forked from this thread, made before the watcher lowers its own
        # priority: a child inherits the niceness of the thread that forks it.
        self._forker = ThreadPoolExecutor(1, thread_name_prefix="ranking-fork")
        metrics.ranking_processes.set_function(self._ranking_processes)

    # -- what requests read ------------------------------------------------------------------

    @property
    def champion(self) -> ServingState | None:
        return self._states.get(CHAMPION)

    @property
    def states(self) -> dict[str, ServingState]:
        """The serving state of each arm (champion only when there is no challenger)."""
        return self._states

    def state_for(self, listener: str | None) -> tuple[str, ServingState | None]:
        """(arm, state) serving ``listener`` (the request's user, else its key id); one
        dictionary read, no lock. Without a challenger state everyone gets the champion."""
        states = self._states
        arm = arm_of(listener, self.challenger_share) if CHALLENGER in states else CHAMPION
        return arm, states.get(arm)

    def _ranking_processes(self) -> int:
        return sum(s.pool.processes for s in self._states.values())

    def _pooled(self) -> bool:
        """Whether the serving states came with their ranking processes (forked before the
        swap) or still rank in the serving process's threads."""
        return all(s.pool.forked for s in self._states.values())

    # -- the watcher -------------------------------------------------------------------------

    def start(self) -> None:
        self._forker.submit(int).result()  # the forking thread exists now, at full priority
        self._thread = threading.Thread(target=self._run, name="state-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.probe.close()
        self._forker.shutdown(wait=False)
        for state in self._states.values():
            state.pool.close()

    def reload(self) -> None:
        """Load now, even if nothing seems to have changed (the admin endpoint)."""
        self._forced = True
        self._wake.set()

    def _run(self) -> None:
        niced = False
        previous: Versions | None = None
        changing_since: float | None = None
        failed: Versions | None = None
        while not self._stop.is_set():
            self._trim_released()
            versions = self.probe.poll()
            current = self.champion
            forced, self._forced = self._forced, False
            new = current is None or versions != current.versions
            if not new:
                changing_since = None
            if forced or (new and versions != failed):
                settled = versions == previous or current is None or forced
                changing_since = changing_since or time.monotonic()
                if settled or time.monotonic() - changing_since > MAX_SETTLE_SECONDS:
                    keep = None if forced or current is None else current.recommender
                    before, current = current and current.versions, None
                    ok, transient = self._load(versions, keep, before)
                    keep = None  # the replaced state is freed before the children fork
                    if ok and self.processes > 0 and not self._pooled():
                        self._fork_pools()
                    # The first load at full speed, swaps behind requests; not with ranking
                    # processes: this thread would hold the GIL the event loop needs while the
                    # children, at full priority, took the cores (answers stalled for seconds).
                    if ok and not niced and self.processes == 0:
                        niced = lower_priority()
                    failed = None if ok or transient else versions
                    changing_since = None
            previous, current = versions, None  # never hold a replaced state while waiting
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _trim_released(self) -> None:
        """After a replaced state is freed, hand its memory back to the system (glibc keeps
        freed blocks) and collect its ranking processes' exit. Not in the finalizer itself: it
        runs before the state's parts are freed."""
        reap()
        if not self._released:
            return
        versions = []
        while self._released:
            versions.append(self._released.pop())
        gc.collect()
        trim_freed()
        log.info("released the memory of %s", ", ".join(versions))

    def _load(
        self, versions: Versions, current: Any | None = None, before: Versions | None = None
    ) -> tuple[bool, bool]:
        """Load, warm and swap in new states; (swapped, failure was transient). A promotion keeps
        the ``current`` recommender's songs and reads the co-occurrence only; when only fresh songs
        landed, they are appended to its songs if they can be (``extend``: storage shared)."""
        import duckdb

        from playlist_assets.lib.classifier.artifacts import ArtifactError, ArtifactMissing

        self.status.loading = True
        self.status.last_attempt = iso_ms(utc_now())
        started = time.perf_counter()
        kept = current is not None and before is not None and before.songs() == versions.songs()
        grow = current is not None and before is not None and versions.fresh_songs_only(before)
        songs = "kept" if kept else "loaded"
        try:
            if kept:
                recommender = rebound(current, self.data_home)
            else:
                grown = grow and self._extend(current, self.data_home)
                serving = self.champion and self.champion.recommender  # what it may keep
                recommender = grown or self._loader(self.data_home, serving)
                songs = "extended" if grown else songs_of(recommender, serving)
                del serving
                recommender.table.warm_up()  # every posterior now, not in front of a request
            warm(recommender)
            challenger = self._load_challenger(recommender)
        except duckdb.IOException as exc:
            locked = "lock" in str(exc).lower()
            return False, self._failed("locked" if locked else "failed", exc, transient=locked)
        except ArtifactMissing as exc:
            return False, self._failed("missing", exc, transient=False)
        except (ArtifactError, ValueError, duckdb.Error, OSError) as exc:
            return False, self._failed("failed", exc, transient=False)
        except Exception as exc:  # a broken model must not stop the watcher: keep serving
            log.exception("loading the serving state failed")
            return False, self._failed("failed", exc, transient=False)
        finally:
            self.status.loading = False
        seconds = time.perf_counter() - started
        pools = self._fork_before_swap(current, recommender, challenger) if kept else None
        self._swap(recommender, challenger, versions, seconds, songs, pools)
        return True, False

    def _load_challenger(self, recommender: Any) -> Any | None:
        """The challenger on the champion's song side, or None (none kept, or share 0). A broken
        challenger file is logged and skipped: the champion still serves everyone."""
        if self.challenger_share <= 0:
            return None
        try:
            found = self._challenger_loader(self.data_home)
            if found is None:
                return None
            cooccurrence, version = found
            other = recommender.with_cooccurrence(cooccurrence)
            other.version = version
            warm(other)
        except Exception as exc:  # the champion must serve even when the challenger cannot
            log.warning("challenger not loaded (%s); the champion serves everyone", exc)
            self.metrics.swaps.labels("failed").inc()
            return None
        return other

    def _failed(self, outcome: str, exc: BaseException, *, transient: bool) -> bool:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.status.last_error = f"{outcome}: {message}"
        self.status.failures = [*self.status.failures[-9:], f"{self.status.last_attempt} {message}"]
        self.metrics.swaps.labels(outcome).inc()
        log.warning(
            "serving state not loaded (%s): %s%s",
            outcome,
            message,
            "; serving the previous state" if self.champion else "",
        )
        return transient

    def _fork_before_swap(
        self, current: Any, recommender: Any, challenger: Any | None
    ) -> dict[str, RankingPool] | None:
        """A promotion's ranking processes, forked while the replaced state still answers (with
        its own processes), so the swap publishes states that rank in processes at once: no
        seconds of ranking in the serving process's threads (one core, and the event loop's
        GIL) and no collection of the whole heap in front of requests.

        The songs are the same objects in both states; what the new children also map is the
        replaced co-occurrence side (kept as theirs once the serving process frees it, until
        the next swap replaces them): done only when that is small (``prefork_max_bytes``),
        else None and ``_fork_pools`` forks after the release, as after a load of new songs."""
        replaced = evidence_bytes(current)
        if self.processes <= 0 or replaced > self.prefork_max_bytes:
            return None
        started = time.perf_counter()
        # Only what is not frozen: what this load left and the new co-occurrence (the states
        # before were frozen at their fork); then frozen too, so the children share them.
        gc.collect()
        gc.freeze()
        pools = {CHAMPION: self._forker.submit(RankingPool, recommender, self.processes).result()}
        if challenger is not None:
            pools[CHALLENGER] = self._forker.submit(
                RankingPool, challenger, self.processes
            ).result()
        log.info(
            "forked %d ranking processes before the swap in %.3f s (the replaced co-occurrence "
            "side they also map: %.0f MiB)",
            sum(p.processes for p in pools.values()),
            time.perf_counter() - started,
            replaced / 2**20,
        )
        return pools

    def _fork_pools(self) -> None:
        """Give the serving states their ranking processes, once the replaced state is freed.

        A child maps everything its parent holds when it forks: forked beside the replaced state
        (a whole song side after a load of new songs), the children would keep that memory for
        their lives. So after such a load (or a promotion whose replaced co-occurrence is too big
        to keep twice, ``_fork_before_swap``) the new state first serves from the ranking
        threads; once the replaced state's last request ended, its memory is handed back and the
        children are forked, and the same states are published again with them."""
        replaced, self._replaced_freed = self._replaced_freed, None
        if replaced is not None and not replaced.wait(RELEASE_WAIT_SECONDS):
            log.warning("the replaced state is still in use: forking the ranking processes anyway")
        # Everything alive now is the serving states and the process's own long-lived objects:
        # frozen, the collector never walks them again here (its walks write into each object,
        # copying the pages the children share). A state freed later goes by reference counts
        # (a loaded recommender holds no reference cycle).
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        trim_freed()
        pooled = {}
        for arm, state in self._states.items():
            pool = self._forker.submit(RankingPool, state.recommender, self.processes).result()
            pooled[arm] = dataclasses.replace(state, pool=pool)
            weakref.finalize(pooled[arm], pool.close)  # its children exit with the state
        self._states = pooled

    def _swap(
        self,
        recommender: Any,
        challenger: Any | None,
        versions: Versions,
        seconds: float,
        songs: str = "loaded",
        pools: dict[str, RankingPool] | None = None,
    ) -> None:
        """Publish the new states (one assignment for both arms), then metrics and the log."""
        current = self._states.get(CHAMPION)
        # one set for both arms (they share the songs), and for the next state when it keeps them
        columns = SongColumns.after(current and current.columns, recommender, songs)
        pools = pools or {}
        states = {
            CHAMPION: ServingState.of(recommender, columns, versions, seconds, pools.get(CHAMPION))
        }
        if challenger is not None:
            states[CHALLENGER] = ServingState.of(
                challenger, columns, versions, seconds, pools.get(CHALLENGER)
            )
        for state in states.values():
            if state.pool.forked:
                weakref.finalize(state, state.pool.close)  # its children exit with the state
        old = self._states
        self._states = states  # one reference: atomic for readers, both arms at once
        self.status.swaps += 1
        self.status.last_error = None
        m = self.metrics
        for arm, gone in old.items():
            m.model.remove(arm, gone.model_version, gone.classifier_version)
        for arm, state in states.items():
            m.model.labels(arm, state.model_version, state.classifier_version).set(1)
        champion = states[CHAMPION]
        m.songs.set(champion.index["songs"])
        m.ready.set(1)
        m.swaps.labels("ok").inc()
        m.swap_seconds.observe(seconds)
        m.last_swap.set(time.time())
        replaced = old.get(CHAMPION)
        log.info(
            "serving %s (%d songs%s, loaded in %.1f s)%s%s",
            champion.model_version,
            champion.index["songs"],
            "" if songs == "loaded" else f", {songs}",
            seconds,
            f"; challenger {states[CHALLENGER].model_version} for "
            f"{self.challenger_share:.0%} of listeners"
            if CHALLENGER in states
            else "",
            f", replacing {replaced.model_version}" if replaced else "",
        )
        if replaced is not None:  # the last request on it frees it; the watcher then trims
            weakref.finalize(replaced, self._released.append, replaced.model_version)
            if not pools:
                self._replaced_freed = threading.Event()  # what _fork_pools waits for
                weakref.finalize(replaced, self._replaced_freed.set)
        del old, replaced, current
