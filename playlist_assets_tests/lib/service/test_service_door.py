"""The door's decision per request: logins, roles per route, failed logins slowed then locked,
a removed user refused at once; and the same over the unix socket nginx asks."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from playlist_assets.lib.service import users
from playlist_assets.lib.service.door import Door, Throttle, UserStore, parse_basic
from playlist_assets.lib.service.probes import unix_http_ok


def basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.json"
    users.save(
        path,
        {
            "ann": users.new_user("ann", "operator", "ann-password-1"),
            "vic": users.new_user("vic", "viewer", "vic-password-1"),
        },
    )
    return path


def test_users_file_is_private_and_holds_no_password(users_file: Path) -> None:
    assert users_file.stat().st_mode & 0o777 == 0o600
    text = users_file.read_text()
    assert "ann-password-1" not in text and "$argon2id$" in text
    with pytest.raises(ValueError, match="at least 12"):
        users.new_user("bob", "viewer", "short")
    with pytest.raises(ValueError, match="user name"):
        users.new_user("bob:x", "viewer", "long-enough-pass")
    with pytest.raises(ValueError, match="role"):
        users.new_user("bob", "admin", "long-enough-pass")


def test_roles_per_route(users_file: Path) -> None:
    door = Door(UserStore(users_file))
    ok = door.check("operator", "10.0.0.1", basic("ann", "ann-password-1"), "GET /")
    assert (ok.status, ok.user, ok.role) == (204, "ann", "operator")
    assert ok.log == "login user=ann role=operator client=10.0.0.1"
    # The same login again is not a new login (no hash check, no log line).
    again = door.check("viewer", "10.0.0.1", basic("ann", "ann-password-1"), "GET /view/")
    assert again.status == 204 and again.log is None
    viewer = door.check("operator", "10.0.0.2", basic("vic", "vic-password-1"), "POST /graphql")
    assert (viewer.status, viewer.reason) == (403, "forbidden")
    assert "refused user=vic role=viewer client=10.0.0.2 POST /graphql" in viewer.log
    assert (
        door.check("viewer", "10.0.0.2", basic("vic", "vic-password-1"), "GET /view/").status == 204
    )
    assert door.check("viewer", "10.0.0.3", None, "GET /view/").status == 401
    assert door.check("nowhere", "10.0.0.3", None, "GET /").status == 403


def test_failed_logins_are_slowed_then_locked_per_address(users_file: Path) -> None:
    clock = Clock()
    door = Door(UserStore(users_file), Throttle(), clock=clock)
    verdicts = [
        door.check("viewer", "10.0.0.9", basic("ann", f"guess-{i}"), "GET /") for i in range(10)
    ]
    assert [v.status for v in verdicts] == [401] * 6 + [403] * 4
    assert [v.delay_s for v in verdicts[:6]] == [0, 0, 0, 1, 2, 4]
    assert {v.reason for v in verdicts[6:]} == {"locked"}
    assert verdicts[6].retry_after_s == 61
    assert all("guess" not in (v.log or "") for v in verdicts)
    assert "address locked for 60 s" in verdicts[5].log
    # Locked: even the right password is refused from there; other addresses are not affected.
    assert door.check("viewer", "10.0.0.9", basic("ann", "ann-password-1"), "GET /").status == 403
    assert door.check("viewer", "10.0.0.8", basic("ann", "ann-password-1"), "GET /").status == 204
    # After the lock, a login works again; a second lock lasts twice as long.
    clock.now += 61
    for i in range(6):
        last = door.check("viewer", "10.0.0.9", basic("ann", f"again-{i}"), "GET /")
    assert "locked for 120 s" in last.log
    # Failures older than the window are forgotten.
    clock.now += 10_000
    fresh = door.check("viewer", "10.0.0.9", basic("ann", "late-guess"), "GET /")
    assert fresh.delay_s == 0 and "(1 in 15 min)" in fresh.log


def test_a_removed_user_is_refused_at_the_next_request(users_file: Path) -> None:
    door = Door(UserStore(users_file))
    assert door.check("viewer", "10.0.0.1", basic("vic", "vic-password-1"), "GET /").status == 204
    known = users.load(users_file)
    del known["vic"]
    users.save(users_file, known)
    assert door.check("viewer", "10.0.0.1", basic("vic", "vic-password-1"), "GET /").status == 401


def test_a_forged_user_name_cannot_forge_a_log_line(users_file: Path) -> None:
    door = Door(UserStore(users_file))
    name = "x\n2026-01-01T00:00:00+00:00 door login user=ann role=operator"
    verdict = door.check("viewer", "10.0.0.5", basic(name, "whatever-pass"), "GET /")
    assert verdict.status == 401 and "\n" not in verdict.log
    assert verdict.log.startswith("login-failed user='x\\n2026")


def test_parse_basic() -> None:
    assert parse_basic(basic("a", "p:q")) == ("a", "p:q")
    assert parse_basic("Bearer abc") is None
    assert parse_basic("Basic !!!") is None
    assert parse_basic(None) is None


@pytest.fixture
def door_socket(users_file: Path, tmp_path: Path) -> Iterator[Path]:
    import uvicorn

    from playlist_assets.lib.service.door_app import create_app

    sock = tmp_path / "check.sock"
    config = uvicorn.Config(
        create_app(users_file, tmp_path / "audit.log"),
        uds=str(sock),
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not unix_http_ok(sock, "/health") and time.monotonic() < deadline:
        time.sleep(0.05)
    yield sock
    server.should_exit = True
    thread.join(timeout=10)


def _ask(sock: Path, route: str, authorization: str | None) -> tuple[int, dict[str, str]]:
    from playlist_assets.lib.service.probes import _UnixConnection

    conn = _UnixConnection(sock, 10)
    headers = {"X-Door-Route": route, "X-Door-Client": "10.1.1.1", "X-Door-Action": "GET /x"}
    if authorization:
        headers["Authorization"] = authorization
    conn.request("GET", "/check", headers=headers)
    reply = conn.getresponse()
    conn.close()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}


def test_the_check_over_its_socket(door_socket: Path, tmp_path: Path) -> None:
    status, headers = _ask(door_socket, "viewer", None)
    assert status == 401 and headers["www-authenticate"].startswith('Basic realm="playlist_assets"')
    status, headers = _ask(door_socket, "operator", basic("ann", "ann-password-1"))
    assert (
        status == 204 and headers["x-door-user"] == "ann" and headers["x-door-role"] == "operator"
    )
    status, headers = _ask(door_socket, "operator", basic("vic", "vic-password-1"))
    assert status == 403 and headers["x-door-reason"] == "forbidden"
    audit = (tmp_path / "audit.log").read_text()
    assert "door login user=ann role=operator client=10.1.1.1" in audit
    assert "door refused user=vic role=viewer client=10.1.1.1 GET /x: operator route" in audit
    assert "password-1" not in audit
