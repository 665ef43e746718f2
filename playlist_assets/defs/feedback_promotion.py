"""``promote_challenger_job``: promote (or retire) the recommender challenger on online evidence.

Launched by hand (or by a schedule a deployment adds): it sums ``main.online_metrics`` over the
last ``window_hours``, compares the arms on acceptance (``lib.feedback.promotion.decide``) and
logs its decision, which it also records as an observation of ``online_metrics`` (what, why,
the evidence). Promotion installs the challenger as the champion (``lib.recommend.champion``)
with a card that says so; the API swaps it in by itself. ``dry_run`` says what it would do.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from playlist_assets import settings
from playlist_assets.lib.feedback import store


class OnlinePromotionConfig(dg.Config):
    window_hours: int = Field(default=24, description="Hours of online metrics to read.")
    min_impressions: int = Field(
        default=1000, description="Impressions each arm needs before any decision."
    )
    strategy: str = Field(default="hybrid", description="The strategy the arms are compared on.")
    dry_run: bool = Field(default=False, description="Decide and log, change nothing.")


@dg.op(
    description="Read the arms' online acceptance over the window; promote the challenger when "
    "significantly better, retire it when significantly worse, else keep; log and record it."
)
def promote_challenger_on_online_evidence(
    context: dg.OpExecutionContext, config: OnlinePromotionConfig, warehouse: DuckDBResource
) -> dict:
    from datetime import timedelta

    import pandas as pd

    from playlist_assets.lib.feedback.promotion import PROMOTE, RETIRE, decide
    from playlist_assets.lib.recommend import champion

    models = settings.models_dir()
    current = champion.challenger(models)
    since = pd.Timestamp.now(tz="UTC").tz_localize(None) - timedelta(hours=config.window_hours)
    with warehouse.get_connection() as conn:
        counts = store.read_metrics(conn, store.METRICS_TABLE, since.to_pydatetime())
        users = store.read_metrics(conn, store.USER_COUNTS_TABLE, since.to_pydatetime())
    version = current[1].version if current else None
    decision = decide(
        counts if len(counts) else pd.DataFrame(columns=["strategy", "arm", "model_version"]),
        version,
        strategy=config.strategy,
        min_impressions=config.min_impressions,
        users=users if len(users) else None,
    )
    acted = decision.action in (PROMOTE, RETIRE) and not config.dry_run and current is not None
    if acted and decision.action == PROMOTE:
        obj, card = current
        reason = f"promoted on online evidence by run {context.run_id}: {decision.reason}"
        champion.install(
            models,
            champion.CHAMPION,
            obj,
            champion.Card(card.version, card.run_id, champion.CHAMPION, _now(), reason),
        )
        champion.retire_challenger(models)
    elif acted:
        champion.retire_challenger(models)
    done = (
        "" if acted or decision.action not in (PROMOTE, RETIRE) else " (dry run: nothing changed)"
    )
    context.log.info(f"online promotion: {decision.action}{done}: {decision.reason}")
    context.log_event(
        dg.AssetObservation(
            asset_key="online_metrics",
            metadata={
                "online_promotion": f"{decision.action}{done}",
                "reason": decision.reason,
                "challenger_version": version or "none",
                "evidence": dg.MetadataValue.json(
                    {k: str(v) for k, v in decision.evidence.items()}
                ),
            },
        )
    )
    return {"action": decision.action, "acted": acted, "reason": decision.reason}


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dg.job(
    name="promote_challenger_job",
    description="Promote the recommender challenger when listeners accept its songs "
    "significantly more often than the champion's (retire it when significantly less); "
    "logged and recorded on online_metrics, never silent.",
    tags={"purpose": "online_promotion"},
)
def promote_challenger_job() -> None:
    promote_challenger_on_online_evidence()


defs = dg.Definitions(jobs=[promote_challenger_job])
