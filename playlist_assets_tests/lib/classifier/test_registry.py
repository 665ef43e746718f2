from __future__ import annotations

from playlist_assets.lib.classifier.registry import CHALLENGER, CHAMPION, decide


def test_first_model_becomes_champion() -> None:
    decision = decide("macro_f1", 0.5, None, None)
    assert decision.promoted and decision.alias == CHAMPION


def test_worse_model_is_only_challenger() -> None:
    decision = decide("macro_f1", 0.60, 0.65, "3")
    assert not decision.promoted
    assert decision.alias == CHALLENGER
    assert "0.6000 < champion v3 0.6500" in decision.reason


def test_equal_model_is_promoted() -> None:
    assert decide("accuracy", 0.7, 0.7, "1").promoted
