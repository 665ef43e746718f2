"""What each notebook section displays: figures when there is data, what to materialize when not.

Each section function returns a list of objects for ``IPython.display.display``, so the notebook
stays a sequence of one-line cells and the sections are tested without a kernel.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from playlist_assets import settings
from playlist_assets.dashboard import data, drift_figures, instance_data
from playlist_assets.dashboard import figures as fig

MATERIALIZE_HINT = "dagster asset materialize -m playlist_assets.definitions --select"
WHOLE_GRAPH = settings.UNPARTITIONED_SELECTION
DEFAULT_SHARE_THRESHOLD = 0.25
PLOTLY_MIME = "application/vnd.plotly.v1+json"


class Note(str):
    """A short Markdown message shown in place of a figure."""

    def _repr_markdown_(self) -> str:
        return str(self)


def empty_state(what: str, assets: list[str], partitioned: bool = False) -> Note:
    """Tell the reader which assets to materialize for ``what`` to appear, and how."""
    names = ", ".join(f"`{a}`" for a in assets)
    if partitioned:
        keys = " or ".join(f"key:{a}" for a in assets)
        how = f"`{MATERIALIZE_HINT} '{keys}' --partition <hour>`, or turn on the hourly schedule"
    else:
        how = f"`{MATERIALIZE_HINT} '{WHOLE_GRAPH}'`"
    return Note(
        f"_No {what} yet._ Materialize {names} with {'its' if len(assets) == 1 else 'their'} upstream assets (in `dagster dev`, "
        f"or headless: {how}), then re-run this notebook."
    )


def configure(
    data_home: str | None = None, mlflow_uri: str | None = None, report: bool = False
) -> None:
    """Point the readers at a data folder / MLflow server and start a new render.

    Figures are plotly's offline HTML in both the executed report and the live Voila page:
    plotly.js rides inline with the first figure of a render, so nothing is fetched from a CDN
    and no Plotly JupyterLab extension is involved. ``report`` also keeps each figure's JSON in
    the executed notebook (for JupyterLab readers and the figure count).
    """
    if data_home:
        os.environ[settings.DATA_HOME_ENV] = str(Path(data_home).expanduser().resolve())
    if mlflow_uri:
        os.environ[settings.MLFLOW_URI_ENV] = mlflow_uri
    _state.clear()
    _state["report"] = report


# Per render (configure() starts a new one): the display mode, whether plotly.js was sent yet,
# and the MLflow runs three sections use.
_state: dict[str, Any] = {}


def warm_up() -> None:
    """Pay for imports and connections before anyone is looking.

    Voila's pre-heated kernel runs the notebook up to :func:`wait_for_viewer` ahead of the
    request, so a visitor only waits for the reads and the figures. Failures are left for the
    sections to report.
    """
    try:
        import duckdb  # noqa: F401

        # Plotly's figure classes and its offline HTML (plotly.js read once into the page cache).
        figure_bundle(fig.songs_per_genre(pd.DataFrame({"genre": ["-"], "songs": [0]})), True)
        client = data._mlflow_client()
        if client is not None:
            client.search_experiments(max_results=1)
        instance_data.dagster_instance()
        # The "try it" form: the recommender and the scikit-learn classes its models unpickle to
        # (the models themselves are read on the first submit, so they are current).
        import sklearn.compose  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.mixture  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import sklearn.preprocessing  # noqa: F401

        import playlist_assets.lib.recommend.playlist_refs  # noqa: F401
        import playlist_assets.lib.recommend.recommender  # noqa: F401
    except Exception:
        pass


def wait_for_viewer() -> None:
    """In a pre-heated Voila kernel, pause here until a page is requested (elsewhere: no-op)."""
    if os.environ.get("VOILA_PREHEAT", "False") == "False":
        return
    from voila.utils import wait_for_request

    # Set by `playlist-assets dashboard`: the file a warmed-up kernel touches to say it is ready.
    ready = os.environ.get(settings.DASHBOARD_READY_FILE_ENV)
    if ready:
        with contextlib.suppress(OSError):  # the command that asked may be gone
            Path(ready).touch()
    wait_for_request()


def figure_bundle(figure: Any, include_plotlyjs: bool, report: bool = False) -> dict[str, Any]:
    """A figure as a display bundle: plotly's offline HTML (with plotly.js inline when asked),
    plus the figure's JSON in a ``report``."""
    title = figure.layout.title.text or "figure"
    html = figure.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        include_mathjax=False,
        config={"displaylogo": False},
    )
    bundle: dict[str, Any] = {"text/html": html, "text/plain": f"<Figure: {title}>"}
    if report:
        bundle[PLOTLY_MIME] = json.loads(figure.to_json())
    return bundle


def show(section: Callable[[], list[Any]], strict: bool = False) -> None:
    """Display what ``section`` returns (figures, notes, tables) in the running notebook."""
    from IPython.display import HTML, display

    for item in guarded(section, strict=strict):
        if hasattr(item, "to_plotly_json"):
            first = not _state.get("plotlyjs_sent")
            display(figure_bundle(item, first, bool(_state.get("report"))), raw=True)
            _state["plotlyjs_sent"] = True
        elif isinstance(item, pd.DataFrame):  # a table reads better without pandas' row numbers
            display(HTML(item.to_html(index=False, border=0, classes="dataframe", na_rep="")))
        else:
            display(item)


def _mlflow_runs() -> pd.DataFrame:
    if "runs" not in _state:
        _state["runs"] = data.mlflow_runs()
    return _state["runs"]


def guarded(section: Callable[[], list[Any]], strict: bool = False) -> list[Any]:
    """Run a section; a busy warehouse (or, unless ``strict``, any failure) becomes a note."""
    try:
        return section()
    except data.WarehouseBusy as exc:
        return [Note(f"⏳ {exc}")]
    except Exception as exc:
        if strict:
            raise
        return [Note(f"⚠️ This section could not be drawn: `{type(exc).__name__}: {exc}`")]


def overview() -> list[Any]:
    """Where the data comes from and what has been materialized so far."""
    tables = data.table_columns()
    runs = _mlflow_runs()
    instance = (
        "set" if os.environ.get(settings.DAGSTER_HOME_ENV) else "unset (no check or run history)"
    )
    lines = [
        f"- data folder: `{settings.data_home()}`",
        f"- warehouse tables: {', '.join(f'`{t}`' for t in sorted(tables)) or '_none_'}",
        f"- MLflow: `{data.mlflow_uri()}` — {len(runs)} finished run(s)",
        f"- Dagster instance (`DAGSTER_HOME`): {instance}",
    ]
    out: list[Any] = [Note("\n".join(lines))]
    if not tables and runs.empty:
        out.append(
            Note(
                "**Fresh install: nothing is materialized yet.** Start `dagster dev` and click "
                "*Materialize all*, or run "
                f"`{MATERIALIZE_HINT} '{WHOLE_GRAPH}'`, "
                "then re-run this notebook."
            )
        )
    return out


def songs_base() -> list[Any]:
    out: list[Any] = []
    genres = data.songs_per_genre()
    out.append(
        fig.songs_per_genre(genres)
        if len(genres)
        else empty_state("validated songs", ["validated_songs"])
    )
    partitions = data.tracks_per_partition()
    out.append(
        fig.tracks_per_partition(partitions)
        if len(partitions)
        else empty_state("hourly partitions of new tracks", ["new_tracks"], partitioned=True)
    )
    reasons = data.quarantine_reasons()
    if len(reasons):
        out.append(fig.quarantine_reasons(reasons))
        out.append(data.quarantine_examples())
    elif "quarantined_tracks" in data.table_columns():
        out.append(Note("No row has been quarantined: every row passed validation."))
    else:
        out.append(empty_state("quarantine", ["quarantined_tracks"]))
    return out


def data_quality() -> list[Any]:
    if instance_data.dagster_instance() is None:
        return [
            Note(
                "_No check history yet._ `DAGSTER_HOME` is not set, so there is no persistent Dagster "
                "instance to read: run `dagster dev` (or set `DAGSTER_HOME`) and materialize "
                "`raw_spotify_tracks` and a `new_tracks` partition; their checks appear here."
            )
        ]
    checks = instance_data.check_history()
    if checks.empty:
        return [empty_state("asset check results", ["raw_spotify_tracks", "new_tracks"])]
    latest = (
        checks.sort_values("timestamp")
        .groupby(["asset", "check", checks["partition"].fillna("")], dropna=False)
        .tail(1)
    )
    summary = latest.groupby(["asset", "check"])["passed"].agg(evaluations="count", passed="sum")
    return [fig.check_results(checks), summary.reset_index()]


def drift() -> list[Any]:
    table = data.feature_drift()
    if table.empty:
        return [
            empty_state("drift measurements", ["new_tracks", "feature_drift"], partitioned=True)
        ]
    threshold = data.drift_threshold(table)
    # Each hour's own verdict, the one the drift sensor read (not a multi-hour run's worst).
    verdicts = instance_data.drift_verdicts()
    if len(verdicts) and "thresholds" in verdicts.columns:
        psi = [t.get("psi") for t in verdicts["thresholds"] if isinstance(t, dict) and t.get("psi")]
        threshold = float(psi[-1]) if psi else threshold
    if len(verdicts):
        # The asset's score is normalised so that 1.0 means drifted.
        scores = verdicts.rename(columns={"drift_score": "score"})[
            ["partition_hour", "score", "drifted"]
        ]
        timeline = (scores, 1.0, "drift score (drifted at ≥ 1)")
    else:
        share = table.groupby("partition_hour")["drifted"].mean().rename("score").reset_index()
        timeline = (share, DEFAULT_SHARE_THRESHOLD, "share of drifted features")
    retrains = instance_data.retraining_runs()
    out: list[Any] = [
        drift_figures.drift_heatmap(table, threshold, verdicts),
        drift_figures.drift_timeline(timeline[0], retrains, timeline[1], timeline[2]),
    ]
    episodes = instance_data.episodes_from_runs(instance_data.retrain_episodes(), verdicts)
    if episodes.empty:
        out.append(
            Note(
                "No drift episode and no retraining run recorded yet"
                + (
                    " (`DAGSTER_HOME` is unset)."
                    if instance_data.dagster_instance() is None
                    else "."
                )
            )
        )
    else:
        out.append(drift_figures.drift_episodes_table(episodes).head(10))
    return out


def models() -> list[Any]:
    runs = _mlflow_runs()
    classifier = data.runs_of_kind(runs, "classifier")
    if classifier.empty:
        return [empty_state("classifier runs in MLflow", ["genre_classifier"])]
    champ = data.champion()
    out: list[Any] = [fig.classifier_runs(classifier, champ.get("run_id"))]
    if champ:
        matrix = data.confusion_matrix(champ["run_id"])
        out.append(
            fig.confusion_matrix(matrix, f"Champion v{champ['version']} ({champ['name']})")
            if len(matrix)
            else Note(f"The champion's run `{champ['run_id']}` logged no confusion matrix.")
        )
    else:
        out.append(Note("No model holds the `champion` alias in the MLflow registry yet."))
    clusters = data.runs_of_kind(runs, "cluster")
    if clusters.empty or "genre" not in clusters.columns:
        out.append(empty_state("cluster runs in MLflow", ["genre_cluster_models"]))
    else:
        latest = clusters.dropna(subset=["genre"]).groupby("genre").tail(1).sort_values("genre")
        out.append(fig.cluster_quality(latest))
    return out


def _cosine_by_run(long: pd.DataFrame) -> pd.DataFrame:
    """Cosine similarity per evaluation run (rows, numbered from 1) and strategy (columns):
    what we serve (hybrid) and the old method (cluster) when logged."""
    cos = long[(long["metric"] == "cosine") & (long["slice"] == "all")]
    if cos.empty:
        return pd.DataFrame()
    order = cos.drop_duplicates("run_id").sort_values("start_time")["run_id"].tolist()
    table = cos.pivot_table(index="run_id", columns="strategy", values="value").reindex(order)
    shown = [s for s in ("hybrid", "cluster") if s in table.columns] or list(table.columns)
    table = table[shown].reset_index(drop=True)
    table.index = table.index + 1
    return table


def recommendations() -> list[Any]:
    runs = data.runs_of_kind(_mlflow_runs(), "recommendation_eval")
    long = fig.eval_metrics_long(runs) if len(runs) else pd.DataFrame()
    table = data.recommendation_eval()
    if long.empty:
        if table.empty:
            return [empty_state("recommendation evaluation", ["recommendation_eval"])]
        return [Note("MLflow holds no evaluation run yet; the latest evaluation table:"), table]
    out: list[Any] = [fig.eval_runs(long)]
    both = data.warm_and_cold()
    if len(both):
        out += [
            Note("Warm (held-out playlists) and cold (songs no playlist holds) side by side:"),
            both.round(4),
        ]
    serving = data.serving_recommender()
    if serving:
        out.append(pd.DataFrame([serving]).T.rename(columns={0: "serving recommender"}))
    cosine = _cosine_by_run(long)
    out.append(
        fig.cosine_trend(cosine)
        if len(cosine)
        else Note("The evaluation runs logged no cosine similarity.")
    )
    if len(table):
        out.append(table.round(4))
    return out
