"""Drift monitoring: ``feature_drift`` per hourly partition (the sensor is in ``retraining.py``)."""

from dataclasses import asdict

import dagster as dg
import pandas as pd
from pydantic import Field

from playlist_assets import settings
from playlist_assets.defs.partitions import (
    BACKFILL_POLICY,
    hour_window,
    hourly_partitions,
    split_by_partition,
)
from playlist_assets.lib.classifier.models import ClassifierBundle
from playlist_assets.lib.constants import DUCKDB_POOL
from playlist_assets.lib.drift import episodes
from playlist_assets.lib.drift.episodes import HourDrift, HourJudge
from playlist_assets.lib.drift.measure import DEFAULT_BINS, DriftThresholds
from playlist_assets.lib.schema import AUDIO_FEATURES

_DEFAULTS = DriftThresholds()


class FeatureDriftConfig(dg.Config):
    """Drift thresholds, editable in the launchpad."""

    psi_threshold: float = Field(
        default=_DEFAULTS.psi,
        description="A feature drifts when its population stability index reaches this "
        "(0.1 = moderate, 0.2 = significant shift, by the usual convention) ...",
    )
    ks_pvalue: float = Field(
        default=_DEFAULTS.ks_pvalue,
        description="... and its two-sample Kolmogorov-Smirnov p-value is below this, so "
        "sampling noise in a small partition does not count as drift.",
    )
    share_drifted: float = Field(
        default=_DEFAULTS.share_drifted,
        description="The partition drifts when at least this share of the audio features drifted.",
    )
    single_feature_psi: float = Field(
        default=_DEFAULTS.single_feature_psi,
        description="The partition also drifts when one feature alone moved this far (PSI, with "
        "a significant KS test): about one standard deviation of energy or valence.",
    )
    prediction_shift: float = Field(
        default=_DEFAULTS.prediction_shift,
        description="The partition also drifts when the champion's predicted-genre mix differs "
        "from its mix on the test split by at least this total variation distance (0..1).",
    )
    min_tracks: int = Field(
        default=_DEFAULTS.min_tracks,
        description="Partitions with fewer tracks are not judged (drifted: false, with the reason).",
    )
    n_bins: int = Field(
        default=DEFAULT_BINS,
        description="PSI bins per continuous feature, cut at the reference's quantiles.",
    )
    features: list[str] = Field(
        default=list(AUDIO_FEATURES),
        description="Audio features to compare (those missing from the reference are skipped).",
    )

    def thresholds(self) -> DriftThresholds:
        return DriftThresholds(
            psi=self.psi_threshold,
            ks_pvalue=self.ks_pvalue,
            share_drifted=self.share_drifted,
            single_feature_psi=self.single_feature_psi,
            prediction_shift=self.prediction_shift,
            min_tracks=self.min_tracks,
        )


_LISTED = 5  # drifted hours named in a range run's log line


def hour_metadata(hour: HourDrift, bundle: ClassifierBundle) -> dict[str, object]:
    """One hour's verdict: numbers and short text only (its feature table is in the warehouse)."""
    report, ack = hour.report, hour.acknowledged
    shift = report.prediction_shift
    return {
        episodes.DRIFTED: dg.MetadataValue.bool(report.drifted),
        episodes.DRIFT_SCORE: dg.MetadataValue.float(report.drift_score),
        episodes.TRIGGER: dg.MetadataValue.bool(hour.trigger),
        episodes.ACKNOWLEDGED_SCORE: dg.MetadataValue.float(
            ack.drift_score if ack is not None else float("nan")
        ),
        # Changes with every retrain, so the sensor knows a verdict was judged after it.
        episodes.ACKNOWLEDGED_RUN: dg.MetadataValue.text(bundle.acknowledged_run or ""),
        episodes.REASON: dg.MetadataValue.text(report.reason),
        episodes.N_TRACKS: dg.MetadataValue.int(report.n_tracks),
        "share_drifted": dg.MetadataValue.float(report.share_drifted),
        "prediction_shift": dg.MetadataValue.float(shift if shift is not None else float("nan")),
        "drifted_features": dg.MetadataValue.text(", ".join(report.drifted_features) or "none"),
        "strongest_feature": dg.MetadataValue.text(report.strongest_feature or "none"),
        "strongest_psi": dg.MetadataValue.float(report.strongest_psi),
    }


def run_summary(judged: list[tuple[str, HourDrift]]) -> str:
    """One log line per run: an hour's reason, or a range run's counts (one event, not one per
    hour: a year's backfill would store thousands)."""
    if len(judged) == 1:
        key, hour = judged[0]
        return f"partition {key}: {hour.report.reason}; trigger={hour.trigger}"
    drifted = [key for key, hour in judged if hour.report.drifted]
    triggers = sum(hour.trigger for _, hour in judged)
    listed = f" ({', '.join(drifted[:_LISTED])}{', ...' if len(drifted) > _LISTED else ''})"
    return (
        f"{len(judged)} hours judged: {len(drifted)} drifted{listed if drifted else ''}, "
        f"{triggers} beyond the last retrain's acknowledged shift"
    )


def _feature_table(hour: HourDrift, key: str, threshold: float, version: str) -> pd.DataFrame:
    table = hour.report.features.copy()
    start = hour_window(key)[0]
    table.insert(0, "partition_hour", pd.Series([start] * len(table), dtype="datetime64[ns]"))
    table["psi_threshold"] = threshold
    table["model_version"] = pd.Series([version] * len(table), dtype="string")
    return table


@dg.asset(
    group_name="monitoring",
    partitions_def=hourly_partitions,
    tags=settings.HOURLY_TAGS,
    deps=["train_songs"],
    metadata={"partition_expr": "partition_hour"},
    kinds={"pandas", "duckdb"},
    pool=DUCKDB_POOL,
    backfill_policy=BACKFILL_POLICY,
)
def feature_drift(
    context: dg.AssetExecutionContext,
    config: FeatureDriftConfig,
    new_tracks: pd.DataFrame,
    genre_classifier: ClassifierBundle,
) -> dg.Output[pd.DataFrame]:
    """How far each hour's new tracks are from the data the champion classifier learned from.

    Per audio feature: PSI on reference-quantile bins and a two-sample KS test (a feature drifts
    when both pass their threshold); plus the shift of the champion's predicted-genre mix. Each
    hour is also judged against the last retrain's acknowledged reference: ``trigger`` says
    whether it moved beyond what that retrain saw (what drift_retraining_sensor acts on). Every
    hour's materialization carries only its own verdict, even in a multi-hour run.
    """
    bundle = genre_classifier
    thresholds = config.thresholds()
    judge = HourJudge.build(bundle, config.features, thresholds, config.n_bins)
    version = bundle.version or "unregistered"
    tables = []
    judged = judge.judge_hours(split_by_partition(new_tracks, list(context.partition_keys)))
    for key, hour in judged:
        context.add_asset_metadata(hour_metadata(hour, bundle), partition_key=key)
        tables.append(_feature_table(hour, key, thresholds.psi, version))
    context.log.info(run_summary(judged))
    return dg.Output(
        pd.concat(tables, ignore_index=True),
        metadata={
            "model_version": dg.MetadataValue.text(version),
            "model_run_id": dg.MetadataValue.text(bundle.run_id or ""),
            "reference_rows": dg.MetadataValue.int(len(bundle.reference)),
            "acknowledged_rows": dg.MetadataValue.int(
                0 if judge.acknowledged is None else judge.acknowledged.n_rows
            ),
            "thresholds": dg.MetadataValue.json(asdict(thresholds)),
        },
    )


defs = dg.Definitions(assets=[feature_drift])
