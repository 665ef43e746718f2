"""The notebook itself: stays stripped, executes headlessly on data with every figure.

The fresh-install run is covered by the `dashboard` asset test (playlist_assets_tests/defs).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from playlist_assets.dashboard import NOTEBOOK_PATH, report


def _outputs(nb) -> list[dict]:
    return [o for c in nb.cells for o in c.get("outputs", [])]


def test_repository_notebook_is_stripped_and_parameterised() -> None:
    nb = nbformat.read(NOTEBOOK_PATH, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert nb.metadata.kernelspec.name == "python3"
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert headings[1:] == [
        "## Songs base",
        "## Data quality",
        "## Drift",
        "## Models",
        "## Recommendations",
        "## Listeners",
        "## Try it",
    ]


def test_notebook_executes_on_data_with_its_figures(filled_home: Path, tmp_path: Path) -> None:
    result = report.render(tmp_path / "out", data_home=filled_home, parameters={"strict": True})
    nb = nbformat.read(result.notebook, as_version=4)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [
        o["data"][report.PLOTLY_MIME] for o in outputs if report.PLOTLY_MIME in o.get("data", {})
    ]
    titles = [f["layout"]["title"]["text"] for f in figures]
    expected = [
        "Songs base",
        "New tracks per hourly partition",
        "Quarantined rows and why",
        "Feature drift (PSI) per hourly partition",
        "Drift over time",
        "Genre classifier across 3 MLflow runs",
        "Champion v2",
        "Cluster quality per genre",
        "Recommendation quality over 2 evaluation run(s)",
        "Cosine similarity trend",
    ]
    assert len(titles) == len(expected) == result.figures
    for title, start in zip(titles, expected, strict=True):
        assert title.startswith(start), title
    html = result.html.read_text()
    assert "Plotly.newPlot" in html and "Feature drift (PSI)" in html
    assert "view.show(" not in html  # code cells are left out of the report
    # Opens offline: plotly.js inline once, nothing (require.js, MathJax, ...) from a CDN.
    assert not re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(?:https?:)?//", html)
    assert html.count("Plotly.newPlot") == len(expected) and html.count("plotly.js v") == 1
    # No Dagster instance, and the stand-in has no track_cooccurrence model for the form.
    assert result.empty_sections == ["check history", "online metrics", "recommender"]
