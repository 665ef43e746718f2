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

# what an answer names of each song after its id: answer field -> songs table column
SONG_COLUMNS = {"name": "track_name", "artist": "artists", "genre": "track_genre"}


class _Encoded:
    """The encoded songs' bytes and offsets, with room for more (``growing``): a state extended
    by an hour's songs writes past the songs the state it replaces lists."""

    def __init__(self, encoded: Any, offsets: Any) -> None:
        import numpy as np

        from playlist_assets.lib.recommend.growing import room_for

        n = len(offsets) - 1
        self.offsets = np.zeros(room_for(n) + 1, dtype=np.int64)
        self.bytes = np.empty(room_for(int(offsets[-1])), dtype=np.uint8)
        self.rows = 0
        self.write(0, encoded, offsets)

    def fits(self, n: int, m: int, size: int) -> bool:
        end = int(self.offsets[n]) + size
        return self.rows == n and n + m < len(self.offsets) and end <= len(self.bytes)

    def write(self, n: int, encoded: Any, offsets: Any) -> None:
        start = int(self.offsets[n])
        self.bytes[start : start + int(offsets[-1])] = encoded[: int(offsets[-1])]
        self.offsets[n + 1 : n + len(offsets)] = offsets[1:] + start
        self.rows = n + len(offsets) - 1


@dataclass(frozen=True)
class SongColumns:
    """What an answer lists of each song, aligned with the recommender's song positions: the
    ids (the songs table's own strings: impressions and the requests remembered for feedback
    point at them) and each song's ``"id":…,"name":…,"artist":…,"genre":…`` already encoded as
    JSON, in one buffer (``fragment``). An answer copies its songs' bytes: it neither encodes
    them again nor makes a string per song."""

    ids: Any
    new: Any
    encoded: Any  # uint8 view of the buffer: song i is encoded[offsets[i]:offsets[i + 1]]
    offsets: Any
    room: _Encoded

    @classmethod
    def of(cls, recommender: Any) -> SongColumns:
        """Encoded by Arrow's string kernels, a column at a time: no Python object per song."""
        return cls._on(recommender.table, _Encoded(*_encode(recommender.table, 0)))

    @classmethod
    def extended(cls, before: SongColumns, recommender: Any) -> SongColumns:
        """The columns of a recommender whose table extends ``before``'s songs (``extend``): the
        added songs encoded into ``before``'s buffer (or, without room, all into a new one)."""
        table, n = recommender.table, len(before.ids)
        encoded, offsets = _encode(table, n)
        if not before.room.fits(n, table.n - n, int(offsets[-1])):
            return cls.of(recommender)
        before.room.write(n, encoded, offsets)
        return cls._on(table, before.room)

    @classmethod
    def after(cls, before: SongColumns | None, recommender: Any, songs: str) -> SongColumns:
        """The columns of a new state whose songs were "kept" (a promotion: the same table),
        "extended", "songs kept" (a full load on the same songs: ``before``'s encoded songs,
        the new table's ids and new flags) or "loaded" (all encoded)."""
        if before is None or songs == "loaded":
            return cls.of(recommender)
        if songs == "extended":
            return cls.extended(before, recommender)
        return before if songs == "kept" else cls._on(recommender.table, before.room)

    @classmethod
    def _on(cls, table: Any, room: _Encoded) -> SongColumns:
        offsets = room.offsets[: table.n + 1]
        encoded = room.bytes[: int(offsets[-1])]
        return cls(ids=table.ids, new=table.new, encoded=encoded, offsets=offsets, room=room)

    def fragment(self, position: int) -> bytes:
        return self.encoded[self.offsets[position] : self.offsets[position + 1]].tobytes()


def _encode(table: Any, start: int) -> tuple[Any, Any]:
    """The JSON of songs ``start..`` of ``table``: their bytes (uint8) and offsets from 0."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from playlist_assets.lib.recommend.songs import TEXT

    values = {
        "id": pa.array(table.ids[start:], pa.large_string()),
        **{
            key: pa.array(table.songs[c].iloc[start:].astype(TEXT))
            for key, c in SONG_COLUMNS.items()
        },
    }  # large_string: pandas' Arrow strings, 64-bit offsets
    parts: list[Any] = []
    for key, column in values.items():
        name = f',"{key}":' if parts else f'"{key}":'
        parts += [pa.scalar(name, pa.large_string()), _json_strings(column)]
    joined = pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string()))
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    first, m = joined.offset, table.n - start
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[first : first + m + 1]
    data = joined.buffers()[2]
    body = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return body[offsets[0] : offsets[-1]], offsets - offsets[0]


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


# what ``json.dumps(ensure_ascii=False)`` escapes in a string: the backslash first
_JSON_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    **{chr(c): json.dumps(chr(c))[1:-1] for c in range(0x20)},
}


def _json_strings(values: Any) -> Any:
    """Each string of the Arrow array ``values`` as a JSON string literal, as ``json.dumps``
    writes it (``null`` for a missing one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    quote, nothing = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    if pc.any(pc.match_substring_regex(values, '[\\x00-\\x1f"\\\\]')).as_py():
        for char, escaped in _JSON_ESCAPES.items():
            values = pc.replace_substring(values, char, escaped)
    quoted = pc.binary_join_element_wise(quote, values, quote, nothing)
    return pc.fill_null(quoted, "null")
