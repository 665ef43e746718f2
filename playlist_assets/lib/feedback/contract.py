"""What the API writes and the hourly assets read: folders, line fields, events, the arms.

The API appends one JSON object per line to
``<landing>/<IMPRESSIONS_DIR or FEEDBACK_DIR>/<YYYY-MM-DDTHH>/<host>-<pid>-<start>.jsonl``
(one file per process and hour, each line one ``write`` to a file opened for appending); clients
may drop batch files of the feedback shape in the same hour folders. A reader takes whole lines
only: a line without its final newline is still being written, or was cut by a crash.

Light on purpose (standard library only): the API, the CLI's simulator and the assets import it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMPRESSIONS_DIR = "impressions"
FEEDBACK_DIR = "feedback"
LINE_SUFFIX = ".jsonl"

IMPRESSION_FIELDS = (
    "request_id",
    "time",  # ISO 8601 UTC with milliseconds and a Z
    "user",  # the client's listener id, or null
    "key_id",  # the API key's id, null when the API runs open
    "model_version",
    "strategy",
    "arm",  # one of ARMS
    "k",
    "seeds",  # the request's track ids, in order
    "ranked",  # the served track ids, best first
)
FEEDBACK_FIELDS = ("request_id", "track_id", "event", "time", "user", "key_id")
FEEDBACK_LINE_FIELDS = FEEDBACK_FIELDS  # the API's lines, in order
# What served the request (arm, model version, strategy, rank) is taken from its stored
# impression by the hourly asset, so the lines do not repeat it (a fifth of each line's bytes,
# read, split and parsed 360,000 times an hour at 20 requests/s). Earlier builds of the API
# wrote these too: a reader ignores them, like any other field outside FEEDBACK_FIELDS.
FEEDBACK_SERVED_FIELDS = ("arm", "model_version")
EVENTS = ("added", "played", "skipped", "liked", "disliked")
ACCEPTING_EVENTS = frozenset({"added", "liked"})  # what "acceptance" counts
REJECTING_EVENTS = frozenset({"skipped", "disliked"})  # shown and turned down
FEEDBACK_KEY = ("request_id", "track_id", "event")  # a repeat of these counts once

CHAMPION, CHALLENGER = "champion", "challenger"
ARMS = (CHAMPION, CHALLENGER)
DEFAULT_CHALLENGER_SHARE = 0.10
_ARM_SALT = b"playlist_assets.arm.v1"


def arm_of(listener: str | None, challenger_share: float) -> str:
    """The arm that serves ``listener``: stable per listener, ``challenger_share`` of them.

    Anonymous requests (no user and no key) get the champion: an arm nobody can be held to
    would mix the arms' metrics.
    """
    if not listener or challenger_share <= 0:
        return CHAMPION
    digest = hashlib.blake2b(listener.encode(), key=_ARM_SALT, digest_size=8).digest()
    return CHALLENGER if int.from_bytes(digest, "big") / 2**64 < challenger_share else CHAMPION


def hour_folder(landing: Path, kind: str, hour_name: str) -> Path:
    """``<landing>/<kind>/<YYYY-MM-DDTHH>`` (``kind``: IMPRESSIONS_DIR or FEEDBACK_DIR)."""
    return Path(landing) / kind / hour_name


def line_files(folder: Path) -> list[Path]:
    """An hour folder's line files, in name order (none when the folder does not exist)."""
    return sorted(Path(folder).glob(f"*{LINE_SUFFIX}")) if Path(folder).is_dir() else []


def whole_text(path: Path) -> str:
    """The file's whole lines: up to its last newline (the rest is still being written or was
    cut by a crash); bytes that are not UTF-8 become U+FFFD instead of failing the read."""
    data = Path(path).read_bytes()
    return data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace")


def whole_lines(folder: Path) -> Iterator[tuple[Path, int, str]]:
    """(file, 1-based line number, text) of every whole line of an hour's files, in name order."""
    for path in line_files(folder):
        for number, text in enumerate(whole_text(path).split("\n"), start=1):
            if text.strip():
                yield path, number, text.removesuffix("\r")


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every whole line parsed (a line that is not a JSON object raises: callers that must keep
    going quarantine with ``whole_lines`` instead)."""
    records = [json.loads(text) for _, _, text in whole_lines(folder)]
    if any(not isinstance(r, dict) for r in records):
        raise ValueError(f"{folder}: a line is not a JSON object")
    return records
