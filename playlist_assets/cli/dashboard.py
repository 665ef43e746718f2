"""``playlist-assets dashboard``: serve the dashboard notebook live with Voila.

The page is the same notebook the ``dashboard`` asset executes, rendered by Voila (code hidden,
ipywidgets live), so its "try it" form answers with the recommender of the current data folder.

Off loopback (``--host 0.0.0.0`` or a LAN address) the page needs a token: the one in
``$PLAYLIST_DASHBOARD_TOKEN``, else a fresh one, printed in the URL. On 127.0.0.1 no token is
asked, as for any local Jupyter page.

Voila keeps one kernel pre-heated: it has done its imports and connections and waits for a
viewer before reading the data. The command announces the URL (and opens the browser) only once
that kernel is ready, so the first page is as quick as every later one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playlist_assets import settings
from playlist_assets.cli import CliError
from playlist_assets.lib.service.profile import is_loopback

DEFAULT_PORT = 8866
DEFAULT_HOST = "127.0.0.1"
READY_TIMEOUT_S = 120.0
VOILA_TEMPLATE = "playlist"
# Jupyter's identity provider reads the token from here (kept out of the command line, which
# every local user can read with ps).
JUPYTER_TOKEN_ENV = "JUPYTER_TOKEN"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the dashboard notebook live (Voila) on localhost",
        description="Serve the dashboard notebook as an interactive page: figures of the songs "
        "base, data quality, drift, models and recommendations, and a form that recommends songs "
        "for a playlist. Reads the data folder ($PLAYLIST_ASSETS_HOME, default ./.data).",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}); any other than loopback requires "
        f"a token: ${settings.DASHBOARD_TOKEN_ENV}, else one is generated and printed",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    parser.add_argument(
        "--base-url",
        default="/",
        help="the path the page is served under (default /); behind the service profile's "
        "door it is /dashboard/",
    )
    parser.set_defaults(func=run)


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def access_token(host: str) -> str | None:
    """None on loopback; elsewhere ``$PLAYLIST_DASHBOARD_TOKEN`` or a new random token."""
    if is_loopback(host):
        return None
    return os.environ.get(settings.DASHBOARD_TOKEN_ENV) or secrets.token_urlsafe(24)


def notebook_path() -> Path:
    """The dashboard notebook shipped in ``playlist_assets/dashboard`` (located, not imported)."""
    spec = importlib.util.find_spec("playlist_assets.dashboard")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise CliError(
            "the playlist_assets.dashboard package is missing: reinstall playlist_assets"
        )
    return Path(folders[0]) / "dashboard.ipynb"


def voila_command(
    notebook: Path, host: str, port: int, token: bool = False, base_url: str = "/"
) -> list[str]:
    """The Voila command line for ``notebook`` (this interpreter, so the kernel sees the package).

    With ``token`` the server asks for the token in ``$JUPYTER_TOKEN`` (see :func:`voila_env`).
    """
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--no-browser",  # opened by this command once the page can be served quickly
        "--strip_sources=True",
        "--theme=light",
        # Voila's lab template minus its CDN stylesheets (found on JUPYTER_PATH, see voila_env).
        f"--template={VOILA_TEMPLATE}",
        # One kernel is kept ready with the imports done; it reads the data when a page is
        # requested (the notebook waits for the viewer), so the page comes fast and current.
        "--preheat_kernel=True",
        "--pool_size=1",
        # Start the next ready kernel a little after a page load, not while it is still drawing.
        "--VoilaKernelManager.fill_delay=10",
        f"--Voila.auto_token={token}",
        f"--Voila.base_url={base_url}",
    ]


def voila_env(
    ready_file: Path | None = None, token: str | None = None, notebook: Path | None = None
) -> dict[str, str]:
    """The environment Voila and its kernels start with: an absolute data folder.

    Voila starts kernels in the notebook's own folder, so a relative data folder (the default
    ``.data``) is resolved here, against the directory the command was run from.
    """
    from playlist_assets.lib.notebook_kernel import kernel_env

    env = kernel_env(settings.data_folder().jupyter)
    env[settings.DATA_HOME_ENV] = str(settings.data_home())
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # The dashboard's Jupyter data folder (its Voila template) comes first on JUPYTER_PATH.
    jupyter_data = (notebook or notebook_path()).with_name("jupyter")
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(jupyter_data), env.get("JUPYTER_PATH", "")) if p
    )
    env.pop(settings.DASHBOARD_TOKEN_ENV, None)  # the kernels have no use for it
    env.pop(JUPYTER_TOKEN_ENV, None)
    if token:
        env[JUPYTER_TOKEN_ENV] = token
    if ready_file is not None:
        env[settings.DASHBOARD_READY_FILE_ENV] = str(ready_file)
    return env


def _wait_until_ready(server: subprocess.Popen, ready_file: Path, timeout: float) -> bool:
    """True once the pre-heated kernel has signalled; False if it did not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_file.exists():
            return True
        if server.poll() is not None:
            raise CliError(
                f"Voila stopped before serving (exit code {server.returncode}); see above"
            )
        time.sleep(0.1)
    return False


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port (1-65535)")
    notebook = notebook_path()
    if not notebook.exists():
        raise CliError(f"dashboard notebook missing at {notebook}: reinstall playlist_assets")
    if not _port_free(args.host, args.port):
        raise CliError(
            f"cannot listen on {args.host}:{args.port} (in use or not a local address); "
            "pick another with --port"
        )
    if not settings.warehouse_path().exists():
        print(
            f"note: no warehouse at {settings.warehouse_path()} yet; "
            "the page will say what to materialize.",
            file=sys.stderr,
        )
    token = access_token(args.host)
    host = f"[{args.host}]" if ":" in args.host else args.host
    base_url = "/" + args.base_url.strip("/") + "/" if args.base_url.strip("/") else "/"
    url = f"http://{host}:{args.port}{base_url}" + (f"?token={token}" if token else "")
    if token:
        print(
            f"{args.host} is not a loopback address: the page asks for a token "
            + (
                f"(from ${settings.DASHBOARD_TOKEN_ENV})."
                if os.environ.get(settings.DASHBOARD_TOKEN_ENV)
                else f"(generated; set ${settings.DASHBOARD_TOKEN_ENV} to choose one): {token}"
            ),
            flush=True,
        )
    signals = tempfile.mkdtemp(prefix="playlist-dashboard-")
    ready_file = Path(signals) / "kernel-ready"
    print(f"Starting the dashboard of {settings.data_home()} ...", flush=True)
    server = subprocess.Popen(
        voila_command(notebook, args.host, args.port, token=bool(token), base_url=base_url),
        env=voila_env(ready_file, token, notebook),
    )
    # A kill of this command stops the server too; Ctrl+C reaches both (same process group).
    previous = signal.signal(
        signal.SIGTERM, lambda signum, frame: server.send_signal(signal.SIGTERM)
    )
    try:
        if not _wait_until_ready(server, ready_file, READY_TIMEOUT_S):
            print("(the first page may be slow: the kernel is still starting)", flush=True)
        print(f"Serving the dashboard at {url} (Ctrl+C to stop)", flush=True)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        return server.wait()
    except KeyboardInterrupt:  # stop without Jupyter's "Shutdown this server?" prompt
        server.send_signal(signal.SIGTERM)
        return server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            server.wait()
        shutil.rmtree(signals, ignore_errors=True)
