"""What a request reads: the published serving state, its pre-encoded song columns, and the
version it answers with (``holder`` builds and swaps them; ``answers`` and ``routes`` read them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from playlist_assets.api.hourly_log import iso_ms, utc_now
from playlist_assets.api.pool import RankingPool
from playlist_assets.api.versions import Versions


@dataclass(frozen=True)
class SongColumns:
    """What an answer lists of each song, aligned with the recommender's song positions: the
    ids (the songs table's own strings: impressions and the requests remembered for feedback
    point at them) and each song's ``"id":…,"name":…,"artist":…,"genre":…`` already encoded as
    JSON, in one buffer (``fragment``). An answer copies its songs' bytes: it neither encodes
    them again nor touches the names' string objects, whose pages the ranking processes share
    (a reference count written is a page copied)."""

    ids: Any
    new: Any
    encoded: bytes
    offsets: Any  # song i is encoded[offsets[i]:offsets[i + 1]]

    @classmethod
    def of(cls, recommender: Any) -> SongColumns:
        import numpy as np

        table = recommender.table
        songs = table.songs
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        parts = [
            f'"id":{dumps(i)},"name":{dumps(n)},"artist":{dumps(a)},"genre":{dumps(g)}'.encode()
            for i, n, a, g in zip(
                table.ids.tolist(),
                songs["track_name"].to_numpy(dtype=object).tolist(),
                songs["artists"].to_numpy(dtype=object).tolist(),
                songs["track_genre"].to_numpy(dtype=object).tolist(),
                strict=True,
            )
        ]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        return cls(ids=table.ids, new=table.new, encoded=b"".join(parts), offsets=offsets)

    def fragment(self, position: int) -> bytes:
        return self.encoded[self.offsets[position] : self.offsets[position + 1]]


@dataclass(frozen=True)
class ServingState:
    """What one request reads: never changed after the swap that published it."""

    recommender: Any
    columns: SongColumns
    model_version: str
    classifier_version: str
    versions: Versions
    index: dict[str, Any]
    loaded_at: str
    load_seconds: float
    pool: RankingPool  # ranks with the recommender: in its processes, or here without any

    @classmethod
    def of(
        cls,
        recommender: Any,
        columns: SongColumns,
        versions: Versions,
        seconds: float,
        pool: RankingPool | None = None,
    ) -> ServingState:
        """The state of a loaded ``recommender`` (``seconds``: how long the load took); without
        ``pool`` it ranks in the serving process's threads until its processes are forked."""
        classifier = recommender.table.classifier
        return cls(
            recommender=recommender,
            columns=columns,
            model_version=model_version_of(recommender.version, versions),
            classifier_version=str(getattr(classifier, "version", None) or "unregistered"),
            versions=versions,
            index={"songs": int(recommender.n), **versions.index_info()},
            loaded_at=iso_ms(utc_now()),
            load_seconds=round(seconds, 3),
            pool=pool or RankingPool(recommender, 0),
        )


@dataclass
class LoadStatus:
    """What the watcher last did, for /readyz and the admin usage page."""

    loading: bool = False
    last_error: str | None = None
    last_attempt: str | None = None
    swaps: int = 0
    failures: list[str] = field(default_factory=list)


def model_version_of(recommender_version: str | None, versions: Versions) -> str:
    """The recommender's card version (``models/recommender/<role>.json``: the same version the
    evaluation and the dashboard name); before any promotion, ``candidate-<file tag>`` of
    ``models/track_cooccurrence``, so a re-learned candidate is a new version too."""
    if recommender_version and recommender_version != "candidate":
        return recommender_version
    return f"candidate-{versions.token('track_cooccurrence')}"
