"""The impressions log: every served list, as JSON lines in an hourly landing folder.

Layout (read by a later hourly asset, e.g. ``recommendation_impressions`` of issue 23)::

    <data folder>/landing/impressions/<YYYY-MM-DDTHH>/<host>-<pid>-<start>.jsonl

- one folder per UTC hour of the impression's ``time`` (the feed's landing folder names);
- one file per API process and hour, so processes never share a file; a process moves to the
  next hour's file with the first impression of that hour (a request in flight at the turn of
  the hour may still add its line to the old one, milliseconds later);
- one JSON object per line, each line written by a single ``write`` on a file opened for
  appending: lines never interleave, and a reader takes whole lines only (a line without its
  final newline is still being written, or was cut by a crash: skip it);
- no DuckDB: the service never takes the warehouse's single writer slot from Dagster runs.

A line: ``request_id``, ``time`` (ISO UTC, ms), ``user`` (the client's id or null), ``key_id``
(null when the API runs open), ``model_version``, ``strategy``, ``arm``, ``k``, ``seeds`` (the
request's track ids, in order) and ``ranked`` (the served track ids, best first).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from playlist_assets.lib.feeds.landing import hour_folder_name

FILE_SUFFIX = ".jsonl"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_ms(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ImpressionLog:
    """Appends impressions; safe to call from several threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.name = f"{socket.gethostname()}-{os.getpid()}-{int(time.time())}{FILE_SUFFIX}"
        self._lock = threading.Lock()
        self._hour: str | None = None
        self._fd: int | None = None

    def append(self, record: dict[str, Any], moment: datetime) -> None:
        """Write one impression (``moment``: its ``time``, which picks the hour's file)."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:  # held through the write: a rotation must not close the fd under it
            written = os.write(self._fd_for(hour_folder_name(moment)), line)
        if written != len(line):  # a full disk: the reader skips the cut line
            raise OSError(f"impression cut short ({written} of {len(line)} bytes)")

    def _fd_for(self, hour: str) -> int:
        """The open file of ``hour`` (called under the lock); the last hour's is closed."""
        if hour != self._hour or self._fd is None:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            folder = self.root / hour
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(folder / self.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._hour = hour
        return self._fd

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_impressions(folder: Path) -> list[dict[str, Any]]:
    """Every whole line of an hour's folder (a reader's reference; tests and issue 23 use it)."""
    rows = []
    for path in sorted(Path(folder).glob(f"*{FILE_SUFFIX}")):
        data = path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        rows += [json.loads(line) for line in whole.splitlines() if line.strip()]
    return rows
