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


def test_live_figures_are_bare_plotly_bundles(filled_home: Path) -> None:
    view.configure(report=False)
    figure = view.songs_base()[0]
    bundle = view.figure_bundle(figure)
    assert set(bundle) == {view.PLOTLY_MIME, "text/plain"}
    assert bundle[view.PLOTLY_MIME]["data"][0]["type"] == "bar"
