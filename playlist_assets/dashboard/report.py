"""Execute the dashboard notebook headlessly (papermill) and render it to HTML (nbconvert).

Both files are written next to each other and swapped in atomically, so a link to the latest
dashboard never points at a half-written file; a notebook that fails is kept for inspection.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playlist_assets.dashboard import NOTEBOOK_PATH
from playlist_assets.lib.notebook_kernel import KERNEL_NAME, kernel_env

PLOTLY_MIME = "application/vnd.plotly.v1+json"
TEMPLATES_DIR = NOTEBOOK_PATH.with_name("jupyter") / "nbconvert" / "templates"
OFFLINE_TEMPLATE = "offline"
NOTEBOOK_NAME, HTML_NAME, FAILED_NAME = (
    "dashboard.ipynb",
    "dashboard.html",
    "dashboard.failed.ipynb",
)


class DashboardFailed(RuntimeError):
    """A cell of the notebook raised; the message names the cell and where the notebook is kept."""


@dataclass(frozen=True)
class Report:
    notebook: Path
    html: Path
    execute_seconds: float
    render_seconds: float
    figures: int
    empty_sections: list[str] = field(default_factory=list)


@contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """Apply ``env``'s differences from ``os.environ`` for the block, then undo them."""
    changed = {k: os.environ.get(k) for k, v in env.items() if os.environ.get(k) != v}
    os.environ.update({k: env[k] for k in changed})
    try:
        yield
    finally:
        for key, old in changed.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _summary(nb: Any) -> tuple[int, list[str]]:
    """Plotly figures in the outputs, and the empty-state notes ("_No ... yet._") shown."""
    figures, empty = 0, []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            bundle = output.get("data", {})
            figures += PLOTLY_MIME in bundle
            text = str(bundle.get("text/markdown", ""))
            if text.startswith("_No "):
                empty.append(text.split("._", 1)[0].removeprefix("_No ").removesuffix(" yet"))
    return figures, empty


def to_html(nb: Any) -> str:
    """The executed notebook as a standalone page, without the code cells, that opens offline
    (the ``offline`` template: nothing fetched from a CDN)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name=OFFLINE_TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def render(
    out_dir: Path,
    *,
    data_home: Path | str | None = None,
    parameters: dict[str, Any] | None = None,
    timeout_seconds: int = 600,
) -> Report:
    """Execute the notebook with ``parameters`` into ``out_dir`` and write its HTML beside it."""
    import nbformat
    import papermill as pm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"report": True, **(parameters or {})}
    if data_home is not None:
        params["data_home"] = str(data_home)
    pending_nb = out_dir / ".dashboard.tmp.ipynb"
    pending_html = out_dir / ".dashboard.tmp.html"
    env = kernel_env(out_dir / ".jupyter")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning per kernel
    started = time.perf_counter()
    try:
        with _environ(env):
            pm.execute_notebook(
                str(NOTEBOOK_PATH),
                str(pending_nb),
                parameters=params,
                kernel_name=KERNEL_NAME,
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout_seconds,
                cwd=str(out_dir),
            )
    except pm.PapermillExecutionError as exc:
        failed = out_dir / FAILED_NAME
        if pending_nb.exists():
            os.replace(pending_nb, failed)
        raise DashboardFailed(
            f"dashboard notebook cell {exc.exec_count} raised {exc.ename}: {exc.evalue} "
            f"(executed notebook kept at {failed})"
        ) from exc
    executed = time.perf_counter() - started
    nb = nbformat.read(pending_nb, as_version=4)
    pending_html.write_text(to_html(nb), encoding="utf-8")
    rendered = time.perf_counter() - started - executed
    notebook, html = out_dir / NOTEBOOK_NAME, out_dir / HTML_NAME
    os.replace(pending_nb, notebook)
    os.replace(pending_html, html)
    (out_dir / FAILED_NAME).unlink(missing_ok=True)
    figures, empty = _summary(nb)
    return Report(notebook, html, round(executed, 3), round(rendered, 3), figures, empty)
