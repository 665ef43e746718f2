"""Start-up: refuse unsafe settings, say how the service runs, serve with uvicorn.

One serving process, one event loop: keys, rate limits, metrics, the impressions log and the
requests remembered for feedback are in one place. Ranking threads hand each request to ranking
processes forked from it after a load (``pool``): they share the loaded recommender's pages, so
both cores rank without a second copy (uvicorn worker processes would each load one; the memory
goal is 1.5x one copy). BLAS/OpenMP pools are held to one thread: requests run side by side.
"""

from __future__ import annotations

import logging
import socket
import sys

from playlist_assets import settings
from playlist_assets.api import config as api_config
from playlist_assets.api.config import ApiConfig
from playlist_assets.lib.service.profile import is_loopback


class StartRefused(Exception):
    """The service must not start with these settings; one line for the user."""


def check_start(config: ApiConfig, has_keys: bool) -> str:
    """The start-up line saying how requests are authenticated, or ``StartRefused``."""
    problems = config.problems()
    if problems:
        raise StartRefused("; ".join(problems))
    if has_keys:
        return "API keys required (Authorization: Bearer <key> or X-API-Key)"
    if config.require_keys:
        return (
            f"API keys required, and none exists yet in {api_config.keys_path()}: every request "
            "is refused (401) until one is created: playlist-assets api-keys create --role client"
        )
    if not is_loopback(config.host):
        raise StartRefused(
            f"refusing to listen on {config.host} without API keys: anyone who can reach it "
            "could use it. Create one first: playlist-assets api-keys create --role admin "
            f"(keys live in {api_config.keys_path()}), or listen on 127.0.0.1"
        )
    return (
        f"OPEN: no API keys in {api_config.keys_path()}, so no key is asked; this is allowed on "
        "loopback only. Create a key to require keys: playlist-assets api-keys create --role client"
    )


def configure_logging() -> None:
    from playlist_assets.api.app import JsonLogFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    for name in ("playlist_assets.api", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (``port`` 0: a free one), so the real port can be announced."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartRefused(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(config: ApiConfig, announce=print) -> None:
    """Run until SIGINT/SIGTERM. Raises ``StartRefused`` before loading anything heavy."""
    from playlist_assets.api.keys import KeyChecker, KeyStore

    checker = KeyChecker(KeyStore(api_config.keys_path()))
    checker.refresh()
    auth_line = check_start(config, checker.has_keys)
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    announce(f"playlist-assets api: listening on http://{shown}:{port} (docs: /docs)")
    announce(f"playlist-assets api: {auth_line}")
    announce(
        f"playlist-assets api: data folder {settings.data_home()}; rate limit {config.rate:g}/s "
        f"burst {config.burst} per key; {config.threads} ranking threads, {config.processes} ranking processes; loading the recommender "
        "in the background (GET /readyz says when it serves)"
    )
    configure_logging()
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import uvicorn

    from playlist_assets.api.app import create_app
    from playlist_assets.api.service import Service

    app = create_app(Service.build(config))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
            root_path=config.root_path,
            server_header=False,
        )
    )
    server.run(sockets=[sock])
