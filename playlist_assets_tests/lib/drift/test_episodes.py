"""The one drift verdict the sensor and the dashboard share, and the acknowledged window."""

import pandas as pd

from playlist_assets.lib.drift.episodes import acknowledged_window, drift_verdict, retrain_check


def test_an_hour_reads_its_own_entry_of_a_legacy_multi_hour_event() -> None:
    # Older builds put the run's worst hour at the top level and every hour in by_partition.
    legacy = {
        "drifted": True,
        "drift_score": 2.0,
        "reason": "3 hours judged in one run, 1 drifted",
        "by_partition": {
            "h0": {"drifted": False, "drift_score": 0.3, "n_tracks": 40, "reason": "no drift: a"},
            "h1": {"drifted": True, "drift_score": 2.0, "n_tracks": 40, "reason": "drifted: b"},
        },
    }
    assert drift_verdict(legacy, "h0").drifted is False
    assert drift_verdict(legacy, "h0").drift_score == 0.3
    assert drift_verdict(legacy, "h1").drifted is True
    # Before acknowledged references existed, a drifted hour triggers.
    assert drift_verdict(legacy, "h1").trigger is True
    assert drift_verdict(legacy, "h0").trigger is False


def test_trigger_and_acknowledgment_come_from_the_hours_own_fields() -> None:
    meta = {"drifted": True, "drift_score": 1.8, "trigger": False, "acknowledged_run": "r9"}
    verdict = drift_verdict(meta, "h5")
    assert (verdict.drifted, verdict.trigger, verdict.acknowledged_run) == (True, False, "r9")
    too_few = drift_verdict({"drifted": False, "reason": "too few tracks to judge: 3 < 30"}, "h")
    assert not too_few.judged


def test_acknowledged_window_starts_at_the_shift_and_is_capped() -> None:
    hours = pd.Series(pd.date_range("2026-11-02", periods=48, freq="h"))
    start, end = acknowledged_window(hours, pd.Timestamp("2026-11-03 20:00"), max_hours=24)
    assert (start, end) == (pd.Timestamp("2026-11-03 20:00"), pd.Timestamp("2026-11-03 23:00"))
    start, _ = acknowledged_window(hours, pd.Timestamp("2026-11-02 01:00"), max_hours=24)
    assert start == pd.Timestamp("2026-11-03 00:00")  # at most 24 hours
    start, _ = acknowledged_window(hours, None, max_hours=6)  # manual run: the newest hours
    assert start == pd.Timestamp("2026-11-03 18:00")
    assert acknowledged_window(pd.Series([], dtype="datetime64[ns]"), None, 24) is None


def test_retrain_check_message() -> None:
    passed, message = retrain_check(
        promoted=False,
        episode_since="2026-11-02-02:00",
        run="ab12cd34",
        metric="macro_f1",
        candidate=0.9637,
        champion=0.9696,
        champion_version="3",
    )
    assert not passed
    assert message == (
        "drift persists since 2026-11-02-02:00; retrain ab12cd34 did not beat champion v3 "
        "(macro_f1 0.9637 vs 0.9696)"
    )
    assert retrain_check(
        promoted=True,
        episode_since="x",
        run="r",
        metric="m",
        candidate=1,
        champion=0.5,
        champion_version="1",
    )[0]
    manual = retrain_check(
        promoted=False,
        episode_since=None,
        run="r",
        metric="m",
        candidate=0.1,
        champion=0.5,
        champion_version="1",
    )
    assert manual[0] is True and manual[1].startswith("no drift episode open")
