"""Drift monitoring: ``feature_drift`` per hourly partition and the sensor that retrains on it."""

import json
import time
import warnings
from dataclasses import asdict, dataclass, field

import dagster as dg
import pandas as pd
from pydantic import Field

from playlist_assets.defs.partitions import hour_window, hourly_partitions, rows_of_hour
from playlist_assets.lib.drift import (
    DEFAULT_BINS,
    DriftReport,
    DriftThresholds,
    classifier_drift,
    prepare_reference,
)
from playlist_assets.lib.models import ClassifierBundle
from playlist_assets.lib.schema import AUDIO_FEATURES

FEATURE_DRIFT_KEY = dg.AssetKey("feature_drift")

# What a retrain re-materializes (the contract of the drift issue). Keys that a deployment does
# not define (recommendation_eval is optional) are ignored by the string selection syntax,
# which `AssetSelection.assets(...)` would refuse; `.materializable()` also drops a key that
# exists only as another asset's declared dependency.
RETRAIN_ASSET_KEYS: tuple[str, ...] = (
    "validated_songs",
    "quarantined_tracks",
    "train_songs",
    "test_songs",
    "genre_classifier",
    "song_index",
    "track_cooccurrence",
    "recommendation_eval",
)
RETRAIN_KEY_PREFIXES: tuple[str, ...] = ("genre_cluster_models",)

TAG_PREFIX = "playlist_assets"
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


# Dagster cannot attach different metadata to each partition of a multi-partition run
# (dagster-io/dagster#18123), so a run over several hours also records every hour's verdict
# under BY_PARTITION and the sensor reads its own partition's entry from there.
BY_PARTITION = "by_partition"
# Same chunking as new_tracks, so a backfill of hourly_feed_job runs both in the same runs.
DRIFT_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=168)


def _report_metadata(report: DriftReport) -> dict[str, object]:
    shift = report.prediction_shift
    return {
        "drifted": dg.MetadataValue.bool(report.drifted),
        "drift_score": dg.MetadataValue.float(report.drift_score),
        "share_drifted": dg.MetadataValue.float(report.share_drifted),
        "prediction_shift": dg.MetadataValue.float(shift if shift is not None else float("nan")),
        "reason": dg.MetadataValue.text(report.reason),
        "n_tracks": dg.MetadataValue.int(report.n_tracks),
        "drifted_features": dg.MetadataValue.text(", ".join(report.drifted_features) or "none"),
        "strongest_feature": dg.MetadataValue.text(report.strongest_feature or "none"),
        "strongest_psi": dg.MetadataValue.float(report.strongest_psi),
        "features": dg.MetadataValue.md(report.features_markdown()),
        "prediction_mix": dg.MetadataValue.json(report.prediction_mix),
    }


# backfill_policy is a beta parameter in dagster 1.13: silence its warning at every load.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.asset(
        group_name="monitoring",
        partitions_def=hourly_partitions,
        deps=["train_songs"],
        metadata={"partition_expr": "partition_hour"},
        kinds={"pandas", "duckdb"},
        pool="duckdb",
        backfill_policy=DRIFT_BACKFILL_POLICY,
    )
    def feature_drift(
        context: dg.AssetExecutionContext,
        config: FeatureDriftConfig,
        new_tracks: pd.DataFrame,
        genre_classifier: ClassifierBundle,
    ) -> dg.Output[pd.DataFrame]:
        """How far this hour's new tracks are from the data the champion classifier was trained on.

        Per audio feature: PSI on reference-quantile bins and a two-sample KS test (a feature drifts
        when both pass their threshold); plus the shift of the champion's predicted-genre mix against
        its mix on the test split. The metadata says `drifted` and why; `drift_retraining_sensor`
        reads it. The reference travels with the champion, so after a retrain the baseline moves.
        """
        bundle = genre_classifier
        usable = [f for f in config.features if f in bundle.reference.columns]
        reference = prepare_reference(
            bundle.reference,
            usable,
            prediction_mix=bundle.reference_prediction_mix,
            n_bins=config.n_bins,
        )
        thresholds = config.thresholds()
        model_version = bundle.version or "unregistered"
        keys = list(context.partition_keys)
        reports: dict[str, DriftReport] = {}
        tables = []
        for key in keys:
            rows = new_tracks if len(keys) == 1 else rows_of_hour(new_tracks, key)
            report = classifier_drift(bundle, rows, thresholds=thresholds, reference=reference)
            reports[key] = report
            context.log.info(f"partition {key}: {report.reason}")
            hour = hour_window(key)[0]
            table = report.features.copy()
            table.insert(
                0, "partition_hour", pd.Series([hour] * len(table), dtype="datetime64[ns]")
            )
            table["psi_threshold"] = thresholds.psi
            table["model_version"] = pd.Series([model_version] * len(table), dtype="string")
            tables.append(table)

        # Top-level fields describe the worst hour of the run (the only hour, usually).
        worst_key = max(keys, key=lambda k: (reports[k].drifted, reports[k].drift_score))
        metadata = _report_metadata(reports[worst_key])
        if len(keys) > 1:
            drifted_hours = [k for k in keys if reports[k].drifted]
            metadata["reason"] = dg.MetadataValue.text(
                f"{len(keys)} hours judged in one run, {len(drifted_hours)} drifted"
                + (f" ({', '.join(drifted_hours)})" if drifted_hours else "")
                + f"; worst hour {worst_key}: {reports[worst_key].reason}"
            )
            metadata["n_tracks"] = dg.MetadataValue.int(sum(r.n_tracks for r in reports.values()))
            metadata[BY_PARTITION] = dg.MetadataValue.json(
                {
                    k: {
                        "drifted": r.drifted,
                        "drift_score": r.drift_score,
                        "n_tracks": r.n_tracks,
                        "reason": r.reason,
                    }
                    for k, r in reports.items()
                }
            )
        metadata.update(
            {
                "model_version": dg.MetadataValue.text(model_version),
                "model_run_id": dg.MetadataValue.text(bundle.run_id or ""),
                "reference_rows": dg.MetadataValue.int(len(bundle.reference)),
                "thresholds": dg.MetadataValue.json(asdict(thresholds)),
            }
        )
        return dg.Output(pd.concat(tables, ignore_index=True), metadata=metadata)


retraining_job = dg.define_asset_job(
    "retraining_job",
    selection=(
        dg.AssetSelection.from_string(" or ".join(f'key:"{k}"' for k in RETRAIN_ASSET_KEYS))
        | dg.AssetSelection.key_prefixes(*[[p] for p in RETRAIN_KEY_PREFIXES])
    ).materializable(),
    description="Rebuild the songs base, the splits, the classifier (champion/challenger), every "
    "genre's cluster model, the serving index and the evaluation. Requested by "
    "drift_retraining_sensor.",
    tags={f"{TAG_PREFIX}/purpose": "retraining"},
)


class DriftRetrainPolicy(dg.ConfigurableResource):
    """Storm control for drift-driven retraining."""

    min_retrain_interval_seconds: int = Field(
        default=3600,
        description="At most one retraining request per this many seconds; drifted partitions "
        "seen in between are held in the sensor cursor and folded into the next request.",
    )
    max_events_per_tick: int = Field(
        default=1000,
        description="feature_drift materializations read per sensor tick (the rest wait for the "
        "next tick).",
    )


@dataclass
class _SensorState:
    """The sensor cursor, as JSON: last event read, last request time, drift events on hold."""

    after_storage_id: int | None = None
    last_request_at: float | None = None
    pending: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, cursor: str | None) -> "_SensorState":
        if not cursor:
            return cls()
        if cursor.strip().isdigit():  # a bare storage id, as a user may type it in the UI
            return cls(after_storage_id=int(cursor))
        try:
            raw = json.loads(cursor)
            return cls(
                after_storage_id=raw.get("after_storage_id"),
                last_request_at=raw.get("last_request_at"),
                pending=list(raw.get("pending", [])),
            )
        except (ValueError, AttributeError) as exc:
            raise ValueError(
                f"drift_retraining_sensor: unreadable cursor {cursor[:80]!r}; reset it or set it to "
                "a storage id (an integer)"
            ) from exc

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _metadata_value(metadata: dict, key: str, default):
    value = metadata.get(key)
    return default if value is None else getattr(value, "value", value)


def _verdict(metadata: dict, partition: str | None) -> dict:
    """``drifted``, ``drift_score`` and ``reason`` of one partition's feature_drift event."""
    by_partition = _metadata_value(metadata, BY_PARTITION, None)
    if isinstance(by_partition, dict) and partition in by_partition:
        return by_partition[partition]
    return {k: _metadata_value(metadata, k, None) for k in ("drifted", "drift_score", "reason")}


def _fetch_new_events(
    instance: dg.DagsterInstance, after_storage_id: int | None, limit: int
) -> list[dg.EventLogRecord]:
    records: list[dg.EventLogRecord] = []
    after = after_storage_id
    while len(records) < limit:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=FEATURE_DRIFT_KEY, after_storage_id=after),
            limit=min(500, limit - len(records)),
            ascending=True,
        )
        records.extend(result.records)
        if not result.has_more or not result.records:
            break
        after = result.records[-1].storage_id
    return records


def _summarize(partitions: list[str | None]) -> str:
    keys = [p or "unpartitioned" for p in partitions]
    return keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]}"


def _retraining_in_progress(instance: dg.DagsterInstance) -> bool:
    active = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=retraining_job.name, statuses=active), limit=1
    )
    return bool(runs)


@dg.sensor(
    job=retraining_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reads new feature_drift materializations and requests one retraining_job run per "
    "drift event; drifted partitions within the minimum retrain interval (or while a retraining "
    "run is active) are folded into one request.",
)
def drift_retraining_sensor(
    context: dg.SensorEvaluationContext, drift_retrain_policy: DriftRetrainPolicy
) -> dg.SensorResult:
    state = _SensorState.load(context.cursor)
    records = _fetch_new_events(
        context.instance, state.after_storage_id, drift_retrain_policy.max_events_per_tick
    )
    scores: list[float] = []
    too_small = 0
    for record in records:
        metadata = (
            dict(record.asset_materialization.metadata) if record.asset_materialization else {}
        )
        verdict = _verdict(metadata, record.partition_key)
        score = float(verdict.get("drift_score") or 0.0)
        scores.append(score)
        too_small += str(verdict.get("reason", "")).startswith("too few")
        if verdict.get("drifted"):
            state.pending.append(
                {"storage_id": record.storage_id, "partition": record.partition_key, "score": score}
            )
    if records:
        state.after_storage_id = records[-1].storage_id

    if not state.pending:
        if not records:
            since = state.after_storage_id if state.after_storage_id is not None else "the start"
            message = f"no new feature_drift materializations since storage id {since}"
        else:
            message = (
                f"checked {len(records)} new feature_drift materialization(s) "
                f"(partitions {_summarize([r.partition_key for r in records])}): none drifted; "
                f"max drift_score {max(scores):.2f} (drifted at >= 1.00)"
                + (f"; {too_small} had too few tracks to judge" if too_small else "")
            )
        return dg.SensorResult(skip_reason=message, cursor=state.dump())

    now = time.time()
    held = len(state.pending)
    if state.last_request_at is not None:
        elapsed = now - state.last_request_at
        wait = drift_retrain_policy.min_retrain_interval_seconds - elapsed
        if wait > 0:
            return dg.SensorResult(
                skip_reason=f"{held} drifted partition(s) held: last retraining was requested "
                f"{elapsed:.0f} s ago, minimum interval "
                f"{drift_retrain_policy.min_retrain_interval_seconds} s; they will be folded into "
                f"one request in {wait:.0f} s",
                cursor=state.dump(),
            )
    if _retraining_in_progress(context.instance):
        return dg.SensorResult(
            skip_reason=f"{held} drifted partition(s) held: a retraining_job run is still active; "
            "they will be folded into one request after it ends",
            cursor=state.dump(),
        )

    events = state.pending
    partitions = [e["partition"] or "unpartitioned" for e in events]
    shown = ", ".join(partitions[:12]) + (
        f" (+{len(partitions) - 12} more)" if len(partitions) > 12 else ""
    )
    first, last = events[0]["storage_id"], events[-1]["storage_id"]
    request = dg.RunRequest(
        job_name=retraining_job.name,
        run_key=f"feature_drift:{first}-{last}:{len(events)}",
        tags={
            f"{TAG_PREFIX}/trigger": "drift_retraining_sensor",
            f"{TAG_PREFIX}/drifted_partitions": shown,
            f"{TAG_PREFIX}/drifted_count": str(len(events)),
            f"{TAG_PREFIX}/drift_event_ids": f"{first}-{last}",
            f"{TAG_PREFIX}/max_drift_score": f"{max(e['score'] for e in events):.3f}",
        },
    )
    context.log.info(f"requesting retraining for {len(events)} drifted partition(s): {shown}")
    state.pending = []
    state.last_request_at = now
    return dg.SensorResult(run_requests=[request], cursor=state.dump())


defs = dg.Definitions(
    assets=[feature_drift],
    sensors=[drift_retraining_sensor],
    jobs=[retraining_job],
    resources={"drift_retrain_policy": DriftRetrainPolicy()},
)
