"""The live dashboard in a real browser: `playlist-assets dashboard` on 127.0.0.1, headless Chromium.

The data folder is built by materializing the real asset graph (a few genres of the sample, one
hourly partition) into a throw-away DAGSTER_HOME, in a subprocess so the genre list is read fresh.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GENRES = "jazz,rock,classical,hip-hop"
PARTITIONS = ("2026-11-01-00:00", "2026-11-01-01:00")
REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium: run scripts/install_browser.sh",
    ),
]

BUILD_SCRIPT = textwrap.dedent(
    f"""
    import dagster as dg
    from playlist_assets.definitions import defs

    if dg.AssetKey("track_cooccurrence") not in defs.resolve_asset_graph().get_all_asset_keys():
        from playlist_assets.defs import playlists  # until the code location merges it

        defs = dg.Definitions.merge(defs, playlists.defs)

    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    partitioned = [k for k in keys if graph.get(k).is_partitioned]
    rest = [k for k in keys if not graph.get(k).is_partitioned and k != dg.AssetKey("dashboard")]
    instance = dg.DagsterInstance.get()
    assets = [*defs.assets, *(defs.asset_checks or [])]
    resources = dict(defs.resources)
    assert dg.materialize(assets, selection=rest, instance=instance, resources=resources).success
    for partition in {PARTITIONS!r}:
        if partitioned:
            assert dg.materialize(
                assets, selection=partitioned, partition_key=partition, instance=instance, resources=resources
            ).success
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dashboard_command() -> list[str]:
    """``playlist-assets dashboard`` (the module entry point when the script is not on PATH)."""
    from playlist_assets import cli

    if "playlist_assets.cli.dashboard" in cli.COMMAND_MODULES:
        script = Path(sys.executable).with_name("playlist-assets")
        if script.exists():
            return [str(script), "dashboard"]
        return [sys.executable, "-m", "playlist_assets.cli", "dashboard"]
    # Until the command is registered: the same entry point with only this sub-command.
    return [
        sys.executable,
        "-c",
        "import sys, playlist_assets.cli as c; c.COMMAND_MODULES = ('playlist_assets.cli.dashboard',); "
        "sys.exit(c.main())",
        "dashboard",
    ]


@pytest.fixture(scope="module")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "PLAYLIST_ASSETS_HOME": str(root / "data"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "PLAYLIST_GENRES": GENRES,
        "GX_ANALYTICS_ENABLED": "false",
    }
    for name in ("MLFLOW_TRACKING_URI", "PLAYLIST_TRACKS_CSV", "PLAYLIST_MPD_PATH"):
        env.pop(name, None)
    Path(env["DAGSTER_HOME"]).mkdir()
    shutil.copyfile(REPO / "dagster.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
    built = subprocess.run(
        [sys.executable, "-c", BUILD_SCRIPT], env=env, cwd=root, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return env


@pytest.fixture(scope="module")
def live_url(live_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("voila") / "dashboard.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*_dashboard_command(), "--host", "127.0.0.1", "--port", str(port), "--no-browser"],
            env=live_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Voila and its kernels stop together
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        # The command announces the URL once its pre-heated kernel is ready.
        deadline = time.monotonic() + 120
        while "Serving the dashboard at" not in log.read_text():
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _playlist_reference(env: dict[str, str]) -> str:
    import duckdb

    warehouse = Path(env["PLAYLIST_ASSETS_HOME"]) / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ids = [
            row[0]
            for row in con.execute(
                "SELECT track_id FROM song_index ORDER BY popularity DESC, track_id LIMIT 5"
            ).fetchall()
        ]
    return " ".join(ids)


def test_live_dashboard_renders_and_recommends(
    live_env: dict[str, str], live_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors, external = _watch(page, allowed=live_url)
            started = time.monotonic()
            page.goto(live_url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8",
                timeout=120_000,
            )
            first_render = time.monotonic() - started
            titles = page.eval_on_selector_all(
                ".js-plotly-plot .gtitle", "els => els.map(e => e.textContent)"
            )
            for expected in (
                "Songs base",
                "New tracks per hourly partition",
                "Data-quality checks",
                "Feature drift (PSI)",
                "Genre classifier across",
                "Cluster quality per genre",
            ):
                assert any(t.startswith(expected) for t in titles), (expected, titles)

            form = page.locator(".tryit-form")
            button = form.get_by_role("button", name="Recommend")
            rows = page.locator(".tryit-output table.tryit-table tbody tr")
            note = page.locator(".tryit-output p").first
            # The form starts with a stored MPD playlist (resolved by the CLI's resolver) ...
            assert form.locator("textarea").input_value().startswith("mpd:")
            button.click()
            rows.first.wait_for(timeout=60_000)
            assert rows.count() >= 10, note.text_content()
            assert "songs for mpd:" in note.text_content()
            # ... and takes pasted track ids as well.
            form.locator("textarea").fill(_playlist_reference(live_env))
            form.locator("select").select_option("cooccurrence")
            button.click()
            page.wait_for_function(
                "document.querySelector('.tryit-output p')?.textContent.includes('pasted track')",
                timeout=60_000,
            )
            assert rows.count() >= 10, note.text_content()
            assert "strategy cooccurrence" in note.text_content()
            assert not page.locator(".tryit-error").count()
            # A path typed into the form is refused without the server opening it.
            form.locator("textarea").fill("/etc/passwd")
            button.click()
            page.locator(".tryit-error").wait_for(timeout=60_000)
            refusal = page.locator(".tryit-error").text_content()
            assert "command line only" in refusal and "root:" not in refusal
            # The live page drew everything with no script error and nothing from outside.
            assert errors == [], errors
            assert external == [], external

            page.set_viewport_size({"width": 1280, "height": _page_height(page)})
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
            if os.environ.get("DASHBOARD_SCREENSHOT"):  # keep a copy to look at
                shutil.copyfile(shot, os.environ["DASHBOARD_SCREENSHOT"])
        finally:
            browser.close()
    print(f"first render (all figures drawn): {first_render:.1f} s")


def _watch(page, allowed: str) -> tuple[list[str], list[str]]:
    """Collect the page's console errors / uncaught exceptions, and requests leaving ``allowed``."""
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((allowed, "ws://127.0.0.1", "data:", "blob:", "file:"))
            else external.append(r.url)
        ),
    )
    return errors, external


def test_static_report_opens_offline(live_env: dict[str, str], tmp_path: Path) -> None:
    """The `dashboard` asset's HTML: every figure drawn, no script error, no request at all."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report"
    rendered = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from playlist_assets.dashboard import report; "
            "print(report.render(Path(sys.argv[1])).html)",
            str(out),
        ],
        env=live_env,
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    html = out / "dashboard.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors, external = _watch(page, allowed=html.as_uri())
            page.goto(html.as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8",
                timeout=60_000,
            )
            titles = page.eval_on_selector_all(
                ".js-plotly-plot .gtitle", "els => els.map(e => e.textContent)"
            )
            assert any(t.startswith("Feature drift (PSI)") for t in titles), titles
            assert errors == [], errors
            assert external == [], external
        finally:
            browser.close()


def _page_height(page) -> int:
    """Voila scrolls inside ``#rendered_cells``: the screenshot needs that container's height."""
    return int(
        page.evaluate(
            "(() => { const c = document.getElementById('rendered_cells');"
            " if (c) { c.scrollTop = 0; } return (c || document.body).scrollHeight + 20; })()"
        )
    )
