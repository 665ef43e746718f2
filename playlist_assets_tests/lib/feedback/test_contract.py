"""The arm split and the whole-lines reader the API and the hourly assets share."""

from __future__ import annotations

from pathlib import Path

from playlist_assets.lib.feedback.contract import (
    CHALLENGER,
    CHAMPION,
    arm_of,
    read_records,
    whole_lines,
)


def test_arm_is_stable_per_listener_and_near_the_share() -> None:
    listeners = [f"listener-{i}" for i in range(20_000)]
    arms = [arm_of(name, 0.10) for name in listeners]
    assert arms == [arm_of(name, 0.10) for name in listeners]
    share = arms.count(CHALLENGER) / len(arms)
    assert 0.09 < share < 0.11
    # a larger share keeps everyone already on the challenger there (no reshuffle)
    wider = [arm_of(name, 0.25) for name in listeners]
    assert all(w == CHALLENGER for a, w in zip(arms, wider, strict=True) if a == CHALLENGER)


def test_anonymous_and_zero_share_get_the_champion() -> None:
    assert arm_of(None, 0.5) == CHAMPION
    assert arm_of("", 0.5) == CHAMPION
    assert {arm_of(f"u{i}", 0.0) for i in range(100)} == {CHAMPION}


def test_a_cut_last_line_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "a-1-1.jsonl").write_text('{"request_id": "r1"}\n{"request_id": "r2"}\n{"req')
    (tmp_path / "notes.txt").write_text("ignored\n")
    assert [r["request_id"] for r in read_records(tmp_path)] == ["r1", "r2"]
    assert [n for _, n, _ in whole_lines(tmp_path)] == [1, 2]
    assert list(whole_lines(tmp_path / "missing")) == []
