"""The impressions and feedback logs: JSON lines in hourly landing folders, never DuckDB.

Layout, line fields and the reader are ``lib.feedback.contract``'s (the hourly assets read it)::

    <landing>/<impressions|feedback>/<YYYY-MM-DDTHH>/<host>-<pid>-<start>.jsonl

- one folder per UTC hour of the line's ``time`` (the feed's landing folder names);
- one file per API process, log and hour, so processes never share a file; a process moves to
  the next hour's file with the first line of that hour (a request in flight at the turn of the
  hour may still add its line to the old one, milliseconds later);
- each append is one ``write`` on a file opened for appending (a feedback batch: its lines in one
  write), so lines never interleave; a reader takes whole lines only (``contract.whole_lines``);
- no DuckDB: the service never takes the warehouse's single writer slot from Dagster runs, and
  keeps answering while a materialization holds it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from playlist_assets.lib.feedback.contract import LINE_SUFFIX, hour_folder
from playlist_assets.lib.feeds.landing import hour_folder_name


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_ms(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HourlyLog:
    """Appends lines to ``<landing>/<kind>/<hour>/``; safe to call from several threads."""

    def __init__(self, landing: Path, kind: str) -> None:
        self.landing, self.kind = Path(landing), kind
        self.name = f"{socket.gethostname()}-{os.getpid()}-{int(time.time())}{LINE_SUFFIX}"
        self._lock = threading.Lock()
        self._hour: str | None = None
        self._fd: int | None = None

    @property
    def root(self) -> Path:
        return self.landing / self.kind

    def append(self, record: dict[str, Any], moment: datetime) -> None:
        """Write one line (``moment``: its ``time``, which picks the hour's file)."""
        self.append_many([record], moment)

    def append_many(self, records: Sequence[dict[str, Any]], moment: datetime) -> None:
        """Write lines in one ``write`` to ``moment``'s hour file."""
        data = b"".join(
            (json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
            for r in records
        )
        with self._lock:  # held through the write: a rotation must not close the fd under it
            written = os.write(self._fd_for(hour_folder_name(moment)), data)
        if written != len(data):  # a full disk: the reader skips the cut line
            raise OSError(f"{self.kind} line cut short ({written} of {len(data)} bytes)")

    def _fd_for(self, hour: str) -> int:
        """The open file of ``hour`` (called under the lock); the last hour's is closed."""
        if hour != self._hour or self._fd is None:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            folder = hour_folder(self.landing, self.kind, hour)
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(folder / self.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._hour = hour
        return self._fd

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
