"""Ranking processes: a serving state's recommender answered by processes forked after its load.

The ranking holds the GIL for most of a request (numpy on a few thousand candidates, the cold
trees, Python glue), so the ranking threads of one process answer about one core's worth. A
``RankingPool`` forks ``processes`` children from the serving process once a state is loaded
and warmed: each child inherits the recommender copy-on-write (its arrays are only read, and
``gc.freeze`` keeps the child's garbage collector from writing into every inherited object), so
a child costs what it allocates per request and the few pages it touches, not a recommender. A
ranking thread sends a request's seeds down a pipe to an idle child and waits for the ranked
positions with the GIL released; the answer is built in the serving process as before.

A pool lives and dies with its state: the replaced state's children exit once no request uses
that state (their pipes close), and only then are the new state's children forked (``holder``:
forked beside the old state they would keep its pages). A child that dies is not replaced: its
requests are ranked in the serving process (the state is here too).
Linux (``os.fork``) only; elsewhere, or with 0 processes, the threads rank in process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from typing import Any

import numpy as np

# How long a ranking thread waits for an idle child before looking again whether any is alive.
IDLE_WAIT_S = 1.0

_exited: list[int] = []  # children whose pipes were closed, to be reaped (``reap``)
_exited_lock = threading.Lock()


@dataclass(frozen=True)
class Ranked:
    """What an answer needs of ``Recommender.rank``: the chosen positions (best first), their
    scores, and what became of the seeds."""

    chosen: np.ndarray
    scores: np.ndarray
    unknown: list[str]
    missing: list[str]
    cold_start: bool
    note: str | None


def rank_here(
    recommender: Any,
    tracks: Sequence[str],
    k: int,
    strategy: str,
    artists: Sequence[str | None] | None,
) -> Ranked:
    """``recommender.rank`` in this process."""
    chosen, scores, seeds, note = recommender.rank(tracks, k, strategy, artists=artists)
    return Ranked(
        chosen, scores, list(seeds.unknown), list(seeds.missing), not len(seeds.items), note
    )


def can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(os, "register_at_fork")


class RankingPool:
    """``processes`` children ranking with ``recommender``; ``rank`` picks an idle one (with no
    child alive, or none forked, it ranks in the calling thread)."""

    def __init__(self, recommender: Any, processes: int) -> None:
        self.recommender = recommender
        self.pids: list[int] = []
        self._pid_of: dict[Connection, int] = {}
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._pipes: list[Connection] = []
        self._alive = 0
        self._lock = threading.Lock()
        for _ in range(processes if can_fork() else 0):
            self._fork()

    def _fork(self) -> None:
        mine, theirs = Pipe()
        # The song table's lock is held across the fork so that no other thread holds it then:
        # a lock copied held would stop the child at its first request.
        lock = getattr(self.recommender.table, "_lock", None) or contextlib.nullcontext()
        with lock:
            pid = os.fork()
        if pid == 0:  # the child: rank until the serving process closes the pipe
            try:
                mine.close()
                _child(self.recommender, theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.pids.append(pid)
        self._pid_of[mine] = pid
        self._pipes.append(mine)
        self._idle.put(mine)
        self._alive += 1

    @property
    def processes(self) -> int:
        return self._alive

    @property
    def forked(self) -> bool:
        """Whether this pool forked children (alive or not): a pool of 0 ranks in threads."""
        return bool(self._pid_of)

    def rank(
        self,
        tracks: Sequence[str],
        k: int,
        strategy: str,
        artists: Sequence[str | None] | None,
    ) -> Ranked:
        """Ranked by an idle child (waiting for one), or here when none is alive. Raises what
        ``Recommender.rank`` raised in the child (``NoUsableTracks``, ``ValueError``)."""
        pipe = self._take()
        if pipe is None:
            return rank_here(self.recommender, tracks, k, strategy, artists)
        try:
            pipe.send((list(tracks), k, strategy, None if artists is None else list(artists)))
            ok, value = pipe.recv()
        except (EOFError, OSError):  # the child died: this request and the next are ranked here
            with self._lock:
                self._alive -= 1
                self.pids.remove(self._pid_of[pipe])
            with contextlib.suppress(OSError):
                pipe.close()
            with _exited_lock:
                _exited.append(self._pid_of[pipe])  # collected at the next poll
            return rank_here(self.recommender, tracks, k, strategy, artists)
        self._idle.put(pipe)
        if not ok:
            raise value
        return value

    def _take(self) -> Connection | None:
        while self._alive > 0:
            try:
                return self._idle.get(timeout=IDLE_WAIT_S)
            except queue.Empty:
                continue
        return None

    def close(self) -> None:
        """Close the pipes: each child exits at end of file. Only once no request uses the pool
        (the state that owns it is being freed)."""
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.close()
        self._alive = 0
        with _exited_lock:
            _exited.extend(self.pids)
        self.pids = []


def reap() -> int:
    """Collect the exit status of closed pools' children that have exited (no zombies);
    the number still running."""
    with _exited_lock:
        waiting = list(_exited)
        _exited.clear()
    running = []
    for pid in waiting:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done == 0:
            running.append(pid)
    with _exited_lock:
        _exited.extend(running)
    return len(running)


def _child(recommender: Any, pipe: Connection) -> None:
    """A child's loop: one request in, its ``Ranked`` (or the exception) out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the serving process decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    keep = pipe.fileno()
    os.closerange(3, keep)  # the listening socket and client connections are the parent's:
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))  # a child holding them keeps them open
    gc.freeze()  # inherited objects stay out of collections (no writes to their pages)
    while True:
        try:
            tracks, k, strategy, artists = pipe.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, Any] = (True, rank_here(recommender, tracks, k, strategy, artists))
        except Exception as exc:  # raised again in the serving process
            reply = (False, exc)
        try:
            pipe.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # an exception that does not pickle
            pipe.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
