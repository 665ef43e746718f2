"""A small stand-in for the Spotify Web API on 127.0.0.1, for tests, benchmarks and demos.

It lives with the tests, not in the package: nothing the product runs imports it. It is a real
HTTP server (standard library only) that answers the calls the Spotify feed makes — the
client-credentials token, ``search`` with ``next`` links, ``audio-features`` —
from a deterministic catalogue, and can be told to misbehave per endpoint (429 with
Retry-After, 5xx, 403, malformed JSON, a slow answer) so the feed's error handling is
exercised through spotipy itself.

    with FakeSpotify() as api:
        api.fail("audio-features", Fault(status=403))
        client = SpotifyFeedClient(SpotifySettings("id", "secret", api.api_url, api.token_url))
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class Fault:
    """One scripted answer: ``status`` with ``body`` (str or JSON-able) after ``delay`` s."""

    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    endpoint: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


class FakeSpotify:
    """Start with ``with FakeSpotify() as api`` (port chosen by the OS)."""

    def __init__(
        self,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        tracks_per_query: int = 120,
        restrict_audio_features: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.tracks_per_query = tracks_per_query
        self.restrict_audio_features = restrict_audio_features
        self.requests: list[Request] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeSpotify:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeSpotify is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/token"

    def use_as_deployment(self, monkeypatch: Any) -> None:
        """Point the product's Spotify URLs here, as a deployment does: through the environment."""
        from playlist_assets import settings

        monkeypatch.setenv(settings.SPOTIFY_API_URL_ENV, self.api_url)
        monkeypatch.setenv(settings.SPOTIFY_TOKEN_URL_ENV, self.token_url)

    # -- scripting -----------------------------------------------------------------------------

    def fail(self, endpoint: str, *faults: Fault) -> None:
        """Answer the next calls to ``endpoint`` (token, search, audio-features) with ``faults``."""
        with self._lock:
            self._faults[endpoint].extend(faults)

    def calls(self, endpoint: str) -> list[Request]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def _next_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    # -- catalogue -----------------------------------------------------------------------------

    def track(self, query: str, index: int) -> dict[str, Any]:
        """The ``index``-th track object answering ``query`` (stable across runs)."""
        track_id = _track_id(f"{query}|{index}")
        genre = query.split("genre:")[-1].split()[0].strip('"') if "genre:" in query else "pop"
        return {
            "id": track_id,
            "name": f"{genre.title()} Song {index}",
            "artists": [{"name": f"Artist {index % 17}"}, {"name": f"Guest {index % 5}"}],
            "album": {"name": f"{genre.title()} Album {index // 10}"},
            "popularity": (index * 7) % 101,
            "duration_ms": 150_000 + (index * 1_337) % 120_000,
            "explicit": index % 4 == 0,
            "type": "track",
            "uri": f"spotify:track:{track_id}",
        }

    @staticmethod
    def audio_feature(track_id: str) -> dict[str, Any]:
        digest = hashlib.sha256(track_id.encode()).digest()
        unit = [b / 255 for b in digest]
        return {
            "id": track_id,
            "danceability": round(unit[0], 3),
            "energy": round(unit[1], 3),
            "key": digest[2] % 12,
            "loudness": round(-30 + 28 * unit[3], 3),
            "mode": digest[4] % 2,
            "speechiness": round(unit[5] * 0.5, 4),
            "acousticness": round(unit[6], 4),
            "instrumentalness": round(unit[7] ** 3, 5),
            "liveness": round(0.05 + 0.6 * unit[8], 4),
            "valence": round(unit[9], 3),
            "tempo": round(70 + 110 * unit[10], 3),
            "time_signature": 3 + digest[11] % 2,
            "duration_ms": 200_000,
            "type": "audio_features",
        }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSpotify
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = parse_qs(self.rfile.read(length).decode())
        if urlsplit(self.path).path != "/api/token":
            return self._send(404, {"error": {"status": 404, "message": "Not found"}})
        self._record("token", {k: ["***"] for k in body})
        if self._serve_fault("token"):
            return
        expected = base64.b64encode(
            f"{self.owner.client_id}:{self.owner.client_secret}".encode()
        ).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self._send(
                400, {"error": "invalid_client", "error_description": "Invalid client"}
            )
        self._send(
            200, {"access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 3600}
        )

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = parse_qs(parts.query)
        endpoint = parts.path.removeprefix("/v1/").strip("/") or "root"
        self._record(endpoint, params)
        if self.headers.get("Authorization") != "Bearer fake-access-token":
            return self._send(401, {"error": {"status": 401, "message": "No token provided"}})
        if self._serve_fault(endpoint):
            return
        if endpoint == "search":
            return self._search(params)
        if endpoint == "audio-features":
            if self.owner.restrict_audio_features:
                return self._send(403, {"error": {"status": 403, "message": "Forbidden"}})
            ids = [i for i in params.get("ids", [""])[0].split(",") if i]
            return self._send(200, {"audio_features": [self.owner.audio_feature(i) for i in ids]})
        self._send(404, {"error": {"status": 404, "message": "Service not found"}})

    def _search(self, params: dict[str, list[str]]) -> None:
        query = params.get("q", [""])[0]
        limit = int(params.get("limit", ["10"])[0])
        offset = int(params.get("offset", ["0"])[0])
        total = self.owner.tracks_per_query
        stop = min(total, offset + limit)
        items = [self.owner.track(query, i) for i in range(offset, stop)]
        following = None
        if stop < total:
            query_string = urlencode({"q": query, "type": "track", "limit": limit, "offset": stop})
            following = f"{self.owner.base_url}/v1/search?{query_string}"
        page = {
            "href": f"{self.owner.base_url}{self.path}",
            "items": items,
            "limit": limit,
            "offset": offset,
            "total": total,
            "next": following,
            "previous": None,
        }
        self._send(200, {"tracks": page})

    def _serve_fault(self, endpoint: str) -> bool:
        fault = self.owner._next_fault(endpoint)
        if fault is None:
            return False
        if fault.delay:
            time.sleep(fault.delay)
        body = fault.body
        if body is None and fault.status >= 400:
            body = {"error": {"status": fault.status, "message": f"fake fault {fault.status}"}}
        self._send(fault.status, body, fault.headers)
        return True

    def _record(self, endpoint: str, params: dict[str, list[str]]) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.owner.requests.append(Request(endpoint, self.path, params, headers))

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def _track_id(seed: str) -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:17], "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)
