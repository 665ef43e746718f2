"""Which recommender serves: the champion's co-occurrence and blends, and the challenger's.

``track_cooccurrence`` writes a candidate (``models/track_cooccurrence``); ``recommendation_eval``
promotes it to ``models/recommender/champion`` only when it is not worse than the champion beyond
noise (``promotion``), else keeps it as ``models/recommender/challenger``. Serving (CLI,
dashboard, API) reads the champion; before any promotion, the candidate itself. Each file has a
JSON card beside it (version, Dagster run, when, why), written after the file: a reader that finds
a card finds its file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from playlist_assets.lib.classifier.artifacts import (
    ArtifactError,
    load_artifact,
    write_pickle_atomic,
)

CANDIDATE = "track_cooccurrence"
CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Card:
    """What a recommender file is: its version (the Dagster run that learned it) and history."""

    version: str
    run_id: str
    role: str  # champion or challenger
    decided_at: str
    reason: str


def folder(models: Path) -> Path:
    return Path(models) / "recommender"


def card(models: Path, role: str) -> Card | None:
    """The card of the recommender serving ``role``, None when there is none."""
    path = folder(models) / f"{role}.json"
    try:
        return Card(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def install(models: Path, role: str, obj: Any, info: Card) -> None:
    """Make the candidate the ``role`` recommender: a hard link to ``models/track_cooccurrence``
    when that file holds ``obj``, else a fresh pickle of ``obj``; then its card.

    A link, not a copy (at a million playlists the file is 2.3 GB): the model files are always
    replaced by a rename (``write_pickle_atomic``), never rewritten in place, so the next
    materialization gives the candidate a new file and the link keeps this one. A copy where
    the filesystem has no hard links."""
    target = folder(models) / role
    target.parent.mkdir(parents=True, exist_ok=True)
    source = Path(models) / CANDIDATE
    tmp = target.parent / f".{role}.{os.getpid()}.{uuid.uuid4().hex}"
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        if load_artifact(tmp, CANDIDATE).tuning != obj.tuning:
            raise OSError("the candidate file holds another recommender")
        os.replace(tmp, target)
    except (OSError, ArtifactError):
        tmp.unlink(missing_ok=True)
        write_pickle_atomic(target, obj)
    _write_json(folder(models) / f"{role}.json", asdict(info))


def serving_file(models: Path) -> tuple[Path, str, Card | None]:
    """The file of the co-occurrence users are served (the champion's, else the candidate's),
    the asset that writes it and its card."""
    champion = folder(models) / CHAMPION
    if champion.exists():
        return champion, "recommendation_eval (the recommender champion)", card(models, CHAMPION)
    return Path(models) / CANDIDATE, CANDIDATE, None


def serving(models: Path) -> tuple[Any, Card | None]:
    """The co-occurrence users are served and its card: the champion's, else the candidate's."""
    path, asset, info = serving_file(models)
    return load_artifact(path, asset), info


def challenger(models: Path) -> tuple[Any, Card] | None:
    """The challenger's co-occurrence and card, when one exists."""
    path, info = folder(models) / CHALLENGER, card(models, CHALLENGER)
    if info is None or not path.exists():
        return None
    return load_artifact(path, "recommendation_eval (the recommender challenger)"), info


def retire_challenger(models: Path) -> None:
    """A promotion ends the challenge: the old challenger stops being served to anyone."""
    for name in (CHALLENGER, f"{CHALLENGER}.json"):
        (folder(models) / name).unlink(missing_ok=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)
