"""Retraining requests per simulated day of one persistent drift, before and after drift episodes.

One simulated day: a champion, 2 normal hours, then 24 hours of the same shift, with a candidate
that never beats the champion (the case of issue 12). Each hour runs the feed and feature_drift
for real (the stand-in feed and songs base of ``playlist_assets_tests/defs/test_retraining.py``,
the project's real genre_classifier, MLflow registry and warehouse), then one tick of:

- after: today's ``drift_retraining_sensor``; every request it makes is executed as a retrain;
- before: the sensor of commit f1401b6 (loaded from git), ticking on the same events with a clock
  that advances one hour per simulated hour (its minimum interval is one hour).

Usage: PYTHONPATH=. .venv/bin/python benchmarks/bench_retrain_episodes.py [--hours 24]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from old_build import BEFORE_COMMIT, module_at  # noqa: E402


def _old_sensor_module():
    return module_at(BEFORE_COMMIT, "playlist_assets/defs/monitoring.py", "monitoring_before")


class _Clock:
    now = 1_800_000_000.0

    @classmethod
    def time(cls) -> float:
        return cls.now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=24, help="hours of persistent shift")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench_retrain_"))
    os.environ["PLAYLIST_ASSETS_HOME"] = str(home)
    sys.path.insert(0, str(ROOT / "playlist_assets_tests" / "defs"))
    import dagster as dg
    from test_retraining import SHIFT, WEAK, Loop

    old = _old_sensor_module()
    old.time = _Clock  # its `time.time()` reads the simulated clock

    SHIFT.clear()
    SHIFT.update({h: 1.0 for h in range(2, 2 + args.hours)})
    before_requests = 0
    old_cursor = None
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        loop = Loop(instance, retrain_config=WEAK)
        loop.train()
        for hour in range(0, 2 + args.hours):
            loop.hour(hour)
            _Clock.now += 3600
            tick = old.drift_retraining_sensor.evaluate_tick(
                dg.build_sensor_context(
                    instance=instance,
                    cursor=old_cursor,
                    resources={"drift_retrain_policy": old.DriftRetrainPolicy()},
                )
            )
            old_cursor = tick.cursor
            before_requests += len(tick.run_requests)
        after_requests = len(loop.requests)
        drifted = sum(1 for h in range(2, 2 + args.hours) if "drifted:" in loop.reasons[h])
    print(f"simulated hours of one persistent shift: {args.hours} ({drifted} judged drifted)")
    print("| sensor | retraining requests | per simulated day |")
    print("| --- | ---: | ---: |")
    for name, n in (
        (f"before ({BEFORE_COMMIT})", before_requests),
        ("after (drift episodes)", after_requests),
    ):
        print(f"| {name} | {n} | {n * 24 / args.hours:.1f} |")
    print(f"wall {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
