"""Promote, retire or keep the recommender challenger on what listeners did (online evidence).

The readout sums ``online_metrics`` counts over a window and compares the arms on acceptance
(``metrics.arm_difference``). The decision is a value the job logs and records: a promotion
never happens without a line saying which version, on which evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from playlist_assets.lib.feedback.metrics import arm_difference

PROMOTE, RETIRE, KEEP = "promote", "retire", "keep"


@dataclass(frozen=True)
class OnlineDecision:
    action: str  # PROMOTE, RETIRE or KEEP
    reason: str
    evidence: dict[str, object]


def decide(
    counts: pd.DataFrame,
    challenger_version: str | None,
    *,
    strategy: str = "hybrid",
    min_impressions: int = 1000,
    users: pd.DataFrame | None = None,
) -> OnlineDecision:
    """What to do with the challenger given ``online_metrics`` rows of the window.

    Only rows of the current challenger's version count on its arm (an older challenger's
    evidence says nothing about this one). Promote when the challenger is significantly better,
    retire it when significantly worse, else keep collecting (also below ``min_impressions`` on
    either arm: early significance on few impressions is mostly noise from peeking).
    """
    if challenger_version is None:
        return OnlineDecision(KEEP, "no challenger is being served", {})
    rows = counts[counts["strategy"] == strategy]
    is_challenger = rows["arm"] == "challenger"
    rows = rows[~is_challenger | (rows["model_version"] == challenger_version)]
    if users is not None and len(users):
        on_challenger = users["arm"] == "challenger"
        users = users[
            (users["strategy"] == strategy)
            & (~on_challenger | (users["model_version"] == challenger_version))
        ]
    table = arm_difference(rows, users=users) if len(rows) else pd.DataFrame()
    if table.empty:
        return OnlineDecision(KEEP, f"no {strategy} impressions in the window", {})
    evidence = {k: _plain(v) for k, v in table.iloc[0].to_dict().items()}
    n_a, n_b = evidence["champion_impressions"], evidence["challenger_impressions"]
    summary = (
        f"challenger {challenger_version}: acceptance {_pct(evidence['challenger_acceptance'])} "
        f"on {n_b} impressions vs champion {_pct(evidence['champion_acceptance'])} on {n_a}; "
        f"difference {_pct(evidence['difference'], True)} [{_pct(evidence['difference_low'], True)}, "
        f"{_pct(evidence['difference_high'], True)}] (95 %)"
    )
    if min(int(n_a), int(n_b)) < min_impressions:
        return OnlineDecision(
            KEEP, f"too little evidence yet ({summary}; need {min_impressions} per arm)", evidence
        )
    if evidence["verdict"] == "challenger better":
        return OnlineDecision(PROMOTE, f"significantly better: {summary}", evidence)
    if evidence["verdict"] == "challenger worse":
        return OnlineDecision(RETIRE, f"significantly worse: {summary}", evidence)
    return OnlineDecision(KEEP, f"no significant difference: {summary}", evidence)


def _pct(value: object, signed: bool = False) -> str:
    try:
        number = 100 * float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if number != number else f"{number:{'+' if signed else ''}.2f} %"


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value
