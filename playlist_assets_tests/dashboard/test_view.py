"""The sections: figures when there is data, what to materialize when there is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from playlist_assets.dashboard import data, view

SECTIONS = [view.songs_base, view.data_quality, view.drift, view.models, view.recommendations]


def _figures(items: list) -> list:
    return [i for i in items if hasattr(i, "to_plotly_json")]


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.__name__)
def test_fresh_install_says_what_to_materialize(empty_home: Path, section) -> None:
    view.configure()
    items = view.guarded(section, strict=True)
    assert not _figures(items)
    text = " ".join(str(i) for i in items if isinstance(i, view.Note))
    assert "Materialize" in text or "materialize" in text
    assert "dagster" in text


def test_fresh_install_overview_gives_the_whole_graph_command(empty_home: Path) -> None:
    view.configure()
    text = " ".join(view.overview())
    assert "Fresh install" in text
    assert view.WHOLE_GRAPH in text


def test_sections_draw_figures_on_data(filled_home: Path) -> None:
    view.configure()
    counts = {s.__name__: len(_figures(view.guarded(s, strict=True))) for s in SECTIONS}
    # No Dagster instance here: data quality can only explain where its history would come from.
    assert counts == {
        "songs_base": 3,
        "data_quality": 0,
        "drift": 2,
        "models": 3,
        "recommendations": 2,
    }


def test_models_marks_the_registry_champion(filled_home: Path) -> None:
    view.configure()
    runs_fig = view.models()[0]
    star = [t for t in runs_fig.data if t.name == "champion"]
    assert list(star[0].y) == [0.65]


def test_a_busy_warehouse_is_a_note_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def busy() -> list:
        raise data.WarehouseBusy("The warehouse is busy")

    assert view.guarded(busy) == ["⏳ The warehouse is busy"]
    assert isinstance(view.guarded(busy, strict=True)[0], view.Note)


def test_other_failures_raise_only_when_strict() -> None:
    def broken() -> list:
        raise KeyError("psi")

    assert "KeyError" in view.guarded(broken)[0]
    with pytest.raises(KeyError):
        view.guarded(broken, strict=True)


def test_figures_are_offline_html_with_plotlyjs_once(filled_home: Path) -> None:
    """No CDN and no Plotly JupyterLab extension: plotly.js rides inline with the first figure."""
    view.configure(report=False)
    first, second = view.songs_base()[:2]
    live = view.figure_bundle(first, include_plotlyjs=True)
    assert set(live) == {"text/html", "text/plain"}  # no plotly MIME: no widget extension
    assert "Plotly.newPlot" in live["text/html"] and len(live["text/html"]) > 1_000_000
    later = view.figure_bundle(second, include_plotlyjs=False)["text/html"]
    assert "Plotly.newPlot" in later and len(later) < 100_000
    assert "cdn" not in later.lower() and "<script src=" not in live["text/html"]
    report = view.figure_bundle(first, include_plotlyjs=False, report=True)
    assert report[view.PLOTLY_MIME]["data"][0]["type"] == "bar"
