"""The door's decision for one request: who is it, may that role use this route, and is the
client address trying too many passwords.

nginx asks this (``auth_request``) before every request it forwards, with the route's name, the
client address and the ``Authorization`` header; ``door_app.py`` serves it. Pure apart from the
users file, which is re-read whenever it changes (a removed user is refused at once).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playlist_assets.lib.service import users as users_file
from playlist_assets.lib.service.users import OPERATOR, VIEWER

# Route name (set by nginx per location, see nginx.py) -> the roles that may use it.
ROUTE_ROLES: dict[str, frozenset[str]] = {
    "operator": frozenset({OPERATOR}),  # / : the operators' Dagster webserver
    "viewer": frozenset({OPERATOR, VIEWER}),  # /view/, /mlflow/, /dashboard/
}
REALM = "playlist_assets"
# A verified (user, client, password) pair is trusted this long before the hash is checked again.
LOGIN_TTL_S = 600.0


@dataclass(frozen=True)
class Verdict:
    status: int  # 204 allowed, 401 who are you, 403 refused (locked: reason "locked")
    reason: str  # ok | no-credentials | bad-credentials | forbidden | locked
    user: str | None = None
    role: str | None = None
    delay_s: float = 0.0  # answer a failed login only after this long
    retry_after_s: int | None = None
    log: str | None = None  # the audit line (never holds the password)


@dataclass
class Throttle:
    """Failed logins per client address: the first few are free, then each one is answered more
    slowly, and past ``lock_after`` the address is refused outright for a while (doubling)."""

    free_failures: int = 3
    lock_after: int = 6
    window_s: float = 900.0
    max_delay_s: float = 4.0
    lock_s: float = 60.0
    max_lock_s: float = 3600.0
    max_clients: int = 100_000
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _locks: dict[str, int] = field(default_factory=dict)

    def locked_for(self, client: str, now: float) -> float:
        """Seconds this client is still refused (0: not locked)."""
        return max(0.0, self._locked_until.get(client, 0.0) - now)

    def failed(self, client: str, now: float) -> tuple[int, float, float]:
        """Record a failure: (failures in the window, delay before answering, lock seconds)."""
        recent = [t for t in self._failures.get(client, []) if now - t < self.window_s]
        recent.append(now)
        self._failures[client] = recent
        self._prune(now)
        n = len(recent)
        delay = (
            0.0
            if n <= self.free_failures
            else min(2.0 ** (n - self.free_failures - 1), self.max_delay_s)
        )
        if n < self.lock_after:
            return n, delay, 0.0
        locks = self._locks.get(client, 0)
        lock = min(self.lock_s * 2**locks, self.max_lock_s)
        self._locks[client] = locks + 1
        self._locked_until[client] = now + lock
        self._failures[client] = []
        return n, delay, lock

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
        self._locks.pop(client, None)

    def _prune(self, now: float) -> None:
        if len(self._failures) <= self.max_clients:
            return
        for client in [
            c for c, ts in self._failures.items() if not ts or now - ts[-1] > self.window_s
        ]:
            del self._failures[client]
        for client in [c for c, until in self._locked_until.items() if until < now]:
            del self._locked_until[client]


def loggable(name: str) -> str:
    """A user name as typed by anyone, safe in a log line: a valid name as is, anything else
    quoted with its newlines and spaces escaped (no forged lines), at most 64 characters."""
    return name if users_file.NAME_PATTERN.match(name) else repr(name[:64])


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic ``Authorization`` header, or None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


class UserStore:
    """The users file, re-read when its size, time or inode changes (checked per request)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple | None = None
        self._users: dict[str, users_file.User] = {}

    def current(self) -> tuple[dict[str, users_file.User], tuple | None]:
        try:
            st = self.path.stat()
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._users = users_file.load(self.path) if stamp else {}
            self._stamp = stamp
        return self._users, stamp


@functools.cache
def _dummy_user() -> users_file.User:
    return users_file.User("-", VIEWER, users_file.hasher().hash(secrets.token_hex(16)))


class Door:
    def __init__(
        self,
        store: UserStore,
        throttle: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
        verify: Callable[[users_file.User, str], bool] = users_file.verify,
    ) -> None:
        self.store = store
        self.throttle = throttle or Throttle()
        self.clock = clock
        self.verify = verify
        self._logins: dict[tuple[str, str, bytes], tuple[str, float]] = {}
        self._logins_stamp: tuple | None = None

    def check(self, route: str, client: str, authorization: str | None, action: str) -> Verdict:
        """The verdict for ``action`` (``"GET /path"``) on ``route`` from ``client``."""
        now = self.clock()
        allowed = ROUTE_ROLES.get(route)
        if allowed is None:
            return Verdict(
                403, "forbidden", log=f"refused client={client} route={route!r}: unknown route"
            )
        locked = self.throttle.locked_for(client, now)
        credentials = parse_basic(authorization)
        if locked:
            who = loggable(credentials[0]) if credentials else "-"
            return Verdict(
                403,
                "locked",
                user=who,
                retry_after_s=int(locked) + 1,
                log=f"throttled user={who} client={client} {action}: too many failed logins, "
                f"locked {int(locked) + 1} s more",
            )
        if credentials is None:
            return Verdict(401, "no-credentials")
        name, password = credentials
        role, logged_in = self._authenticate(name, password, client, now)
        if role is None:
            failures, delay, lock = self.throttle.failed(client, now)
            note = f"; address locked for {lock:.0f} s" if lock else ""
            return Verdict(
                401,
                "bad-credentials",
                user=loggable(name),
                delay_s=delay,
                log=f"login-failed user={loggable(name)} client={client} {action}: wrong user or password "
                f"({failures} in {self.throttle.window_s / 60:.0f} min{note})",
            )
        self.throttle.succeeded(client)
        login = None if logged_in else f"login user={name} role={role} client={client}"
        if role not in allowed:
            refused = f"refused user={name} role={role} client={client} {action}: {route} route"
            return Verdict(
                403,
                "forbidden",
                user=name,
                role=role,
                log=refused if login is None else f"{login}\n{refused}",
            )
        return Verdict(204, "ok", user=name, role=role, log=login)

    def _authenticate(self, name: str, password: str, client: str, now: float):
        """(role or None, whether this was an already-verified login)."""
        known, stamp = self.store.current()
        if stamp != self._logins_stamp:  # users changed: every login is checked again
            self._logins.clear()
            self._logins_stamp = stamp
        key = (name, client, hashlib.sha256(password.encode()).digest())
        cached = self._logins.get(key)
        user = known.get(name)
        if cached and cached[1] > now and user is not None:
            return cached[0], True
        if user is None:
            self.verify(_dummy_user(), password)  # as slow as for a known user: no timing oracle
            return None, False
        if not self.verify(user, password):
            return None, False
        if len(self._logins) > 10_000:
            self._logins.clear()
        self._logins[key] = (user.role, now + LOGIN_TTL_S)
        return user.role, False
