"""Champion/challenger promotion in the MLflow model registry.

The decision is made on the same stable test split for both models, so a retrain is promoted
only when it is at least as good as the model serving today.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    metric: str
    candidate_score: float
    champion_score: float | None
    champion_version: str | None
    reason: str

    @property
    def alias(self) -> str:
        return CHAMPION if self.promoted else CHALLENGER


def current_champion(client: Any, model_name: str) -> Any | None:
    """The model version holding the ``champion`` alias, or None before the first promotion."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def decide(
    metric: str,
    candidate_score: float,
    champion_score: float | None,
    champion_version: str | None,
) -> PromotionDecision:
    """Promote when there is no champion, or the candidate is at least as good on ``metric``."""
    if champion_score is None:
        reason = "no champion yet: the first model becomes champion"
        promoted = True
    elif candidate_score >= champion_score:
        promoted = True
        reason = (
            f"{metric} {candidate_score:.4f} >= champion v{champion_version} {champion_score:.4f} "
            "on the same test split"
        )
    else:
        promoted = False
        reason = (
            f"{metric} {candidate_score:.4f} < champion v{champion_version} {champion_score:.4f} "
            "on the same test split: kept as challenger"
        )
    return PromotionDecision(
        promoted=promoted,
        metric=metric,
        candidate_score=float(candidate_score),
        champion_score=None if champion_score is None else float(champion_score),
        champion_version=champion_version,
        reason=reason,
    )


def apply(client: Any, model_name: str, version: str, decision: PromotionDecision) -> None:
    """Point the alias at the new version and record the decision on it."""
    client.set_registered_model_alias(model_name, decision.alias, version)
    client.set_model_version_tag(model_name, version, "promotion_decision", decision.alias)
    client.set_model_version_tag(model_name, version, "promotion_reason", decision.reason)
