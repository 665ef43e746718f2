"""Champion/challenger promotion in the MLflow model registry.

Both models are scored in the same run on today's test split (the champion's stored score from
its own day is not the yardstick once the data has changed). The candidate is promoted when its
promotion metric (macro-F1 by default) is at least the champion's: a tie promotes, so the newer
model, trained on more data, serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_DESCRIPTION = (
    "Genre classifier of the playlist_assets songs base (scikit-learn pipeline on audio features, "
    "popularity, duration and the lead artist). Alias 'champion' serves; 'challenger' is the "
    "latest candidate that did not beat it on the same test split."
)


@dataclass
class Champion:
    """The serving model as the registry holds it, with the training reference logged beside it."""

    model: Any
    reference: pd.DataFrame
    version: str
    run_id: str


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


def load_champion(mlflow: Any, client: Any, model_name: str) -> Champion | None:
    """The champion's model and reference, or None before the first promotion."""
    version = current_champion(client, model_name)
    if version is None:
        return None
    model = mlflow.sklearn.load_model(f"models:/{model_name}@{CHAMPION}")
    path = mlflow.artifacts.download_artifacts(
        run_id=version.run_id, artifact_path="reference/train_features.parquet"
    )
    return Champion(model, pd.read_parquet(path), str(version.version), version.run_id)


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
    client.update_registered_model(model_name, description=MODEL_DESCRIPTION)
    client.set_registered_model_alias(model_name, decision.alias, version)
    client.set_model_version_tag(model_name, version, "promotion_decision", decision.alias)
    client.set_model_version_tag(model_name, version, "promotion_reason", decision.reason)
