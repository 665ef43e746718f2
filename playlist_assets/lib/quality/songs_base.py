"""The songs base: batches in, typed and de-duplicated songs out, nothing dropped silently.

Every input row ends up in exactly one bucket, so ``input = validated + quarantined +
duplicates removed + out of scope`` always holds:

1. A batch that fails its suite (missing column, wrong type, empty, too many bad rows) is
   excluded whole; its rows are quarantined with the batch's problems as the reason.
2. Rows of an accepted batch that break a row rule are quarantined with the rule(s).
3. Valid rows of genres outside the configured ones are out of scope (counted, not kept).
4. The remaining rows are de-duplicated by ``track_id``: the newest batch wins, and within a
   batch the first occurrence wins (the Kaggle data repeats a track under several genres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from playlist_assets.lib.quality.evaluate import (
    empty_quarantine,
    evaluate_batch,
    quarantine_frame,
    split_rows,
)
from playlist_assets.lib.quality.rules import SuiteSpec
from playlist_assets.lib.schema import TYPED_DTYPES


@dataclass(frozen=True)
class Batch:
    """One input batch; batches are passed oldest first (later ones win de-duplication)."""

    label: str
    source: str
    frame: pd.DataFrame
    suite: SuiteSpec


@dataclass
class SongsBase:
    songs: pd.DataFrame
    quarantined: pd.DataFrame
    input_rows: int
    quarantined_rows: int
    duplicates_removed: int
    out_of_scope_rows: int
    included: list[str] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def validated_rows(self) -> int:
        return len(self.songs)

    def per_genre(self) -> dict[str, int]:
        counts = self.songs["track_genre"].value_counts()
        return {str(g): int(n) for g, n in sorted(counts.items())}

    def counts_add_up(self) -> bool:
        return self.input_rows == (
            self.validated_rows
            + self.quarantined_rows
            + self.duplicates_removed
            + self.out_of_scope_rows
        )


def to_typed(df: pd.DataFrame) -> pd.DataFrame:
    """The Kaggle columns of rows that passed every rule, cast to ``TYPED_DTYPES``."""
    typed: dict[str, pd.Series] = {}
    for column, dtype in TYPED_DTYPES.items():
        s = df[column]
        if dtype == "int64":
            typed[column] = pd.to_numeric(s).round().astype("int64")
        elif dtype == "bool":
            typed[column] = s.astype(bool)
        else:
            typed[column] = s.astype(dtype)
    return pd.DataFrame(typed, index=df.index)


def build_songs_base(
    batches: Sequence[Batch],
    genres: Sequence[str],
    *,
    quarantined_at: pd.Timestamp | None = None,
) -> SongsBase:
    """Validate, type, scope and de-duplicate ``batches`` (oldest first)."""
    stamp = quarantined_at or pd.Timestamp.now(tz="UTC").tz_localize(None)
    wanted = set(genres)
    kept: list[pd.DataFrame] = []
    quarantine: list[pd.DataFrame] = []
    included: list[str] = []
    excluded: dict[str, list[str]] = {}
    ignored: dict[str, list[str]] = {}
    input_rows = out_of_scope = 0
    for rank, batch in enumerate(batches):
        frame = batch.frame.reset_index(drop=True)
        input_rows += len(frame)
        evaluation = evaluate_batch(frame, batch.suite)
        if evaluation.extra_columns:
            ignored[batch.label] = evaluation.extra_columns
        if not evaluation.success:
            excluded[batch.label] = evaluation.problems
            reason = "whole batch rejected: " + "; ".join(evaluation.problems)
            quarantine.append(
                quarantine_frame(
                    frame, batch.source, np.arange(1, len(frame) + 1), [reason] * len(frame), stamp
                )
            )
            continue
        included.append(batch.label)
        split = split_rows(
            frame,
            source=batch.source,
            suite=batch.suite,
            evaluation=evaluation,
            quarantined_at=stamp,
        )
        quarantine.append(split.quarantined)
        in_scope = split.valid["track_genre"].isin(wanted).to_numpy()
        out_of_scope += int((~in_scope).sum())
        valid = split.valid.loc[in_scope]
        typed = to_typed(valid)
        typed["_rank"] = rank
        typed["_pos"] = valid["_row_number"].to_numpy()
        kept.append(typed)

    quarantined = (
        pd.concat([q for q in quarantine if len(q)], ignore_index=True)
        if any(len(q) for q in quarantine)
        else empty_quarantine()
    )
    if kept:
        songs = pd.concat(kept, ignore_index=True)
    else:
        songs = to_typed(pd.DataFrame({c: pd.Series(dtype=d) for c, d in TYPED_DTYPES.items()}))
        songs["_rank"] = pd.Series(dtype="int64")
        songs["_pos"] = pd.Series(dtype="int64")
    before = len(songs)
    songs = (
        songs.sort_values(["_rank", "_pos"], ascending=[False, True], kind="stable")
        .drop_duplicates("track_id", keep="first")
        .sort_values(["_rank", "_pos"], kind="stable")
        .drop(columns=["_rank", "_pos"])
        .reset_index(drop=True)
    )
    base = SongsBase(
        songs=songs,
        quarantined=quarantined,
        input_rows=input_rows,
        quarantined_rows=len(quarantined),
        duplicates_removed=before - len(songs),
        out_of_scope_rows=out_of_scope,
        included=included,
        excluded=excluded,
        ignored_columns=ignored,
    )
    if not base.counts_add_up():  # an invariant, not a user error
        raise AssertionError(
            f"songs base counts do not add up: input {base.input_rows} != validated "
            f"{base.validated_rows} + quarantined {base.quarantined_rows} + duplicates "
            f"{base.duplicates_removed} + out of scope {base.out_of_scope_rows}"
        )
    return base
