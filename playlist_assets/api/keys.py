"""API keys: created, listed and revoked by ``playlist-assets api-keys``, checked by the service.

A key is ``pa_<key id>_<secret>``: the id names it in logs, usage and impressions (it is not a
secret); the secret is 32 random bytes, shown once at creation. ``<data folder>/api/keys.json``
(mode 600, replaced atomically under a lock) holds each key's id, role, label, dates and an
argon2id hash of the whole key, never the key. The service re-reads the file when it changes,
so a key revoked from the command line is refused from the next request on.

Checking a hash costs ~0.1 s by design; the service checks a presented key once and then keeps
a SHA-256 digest of it in memory (never on disk or in a log) mapped to its key id, so a request
costs a dictionary lookup. Argon2 parameters: OWASP's argon2id minimum (19 MiB, 2 passes, one
lane): the secret is random, not a password, so stretching it further buys nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

ROLES: tuple[str, ...] = ("client", "admin")
# What each role may do; ``admin`` may do everything a client may.
ROLE_RANK = {"client": 0, "admin": 1}
KEY_PREFIX = "pa_"
_KEY = re.compile(r"^pa_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
_ID = re.compile(r"^[0-9a-f]{8}$")
FILE_VERSION = 1
NEGATIVE_CACHE_LIMIT = 10_000


class KeyCommandError(ValueError):
    """A key command that cannot be done (unknown id, bad role); one line for the user."""


@dataclass(frozen=True)
class KeyRecord:
    """One key as stored: everything but the key itself."""

    id: str
    role: str
    name: str
    hash: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def key_id_of(token: str) -> str | None:
    """The key id a presented key claims, or None if it is not shaped like a key."""
    match = _KEY.match(token)
    return match.group(1) if match else None


class KeyStore:
    """The key file: read, and changed under an exclusive lock by the command line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def records(self) -> list[KeyRecord]:
        """Every key ever created (revoked ones too), oldest first; [] without a file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
            return [KeyRecord(**row) for row in data["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyCommandError(f"{self.path}: not a key file ({exc})") from None

    def active(self) -> list[KeyRecord]:
        return [r for r in self.records() if r.active]

    def create(self, role: str, name: str = "") -> tuple[KeyRecord, str]:
        """A new key of ``role``: its record and the key itself (shown once, never stored)."""
        if role not in ROLES:
            raise KeyCommandError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        with self._locked() as records:
            taken = {r.id for r in records}
            key_id = secrets.token_hex(4)
            while key_id in taken:
                key_id = secrets.token_hex(4)
            token = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
            record = KeyRecord(key_id, role, name, _hasher().hash(token), _now())
            records.append(record)
        return record, token

    def revoke(self, key_id: str) -> KeyRecord:
        """Mark the key revoked (kept, so usage and impressions still name it)."""
        if not _ID.match(key_id):
            raise KeyCommandError(f"{key_id!r} is not a key id (8 hex digits, see api-keys list)")
        with self._locked() as records:
            for i, record in enumerate(records):
                if record.id == key_id:
                    if record.active:
                        records[i] = KeyRecord(**{**asdict(record), "revoked_at": _now()})
                    return records[i]
        raise KeyCommandError(f"no key with id {key_id} in {self.path}")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[KeyRecord]]:
        """The records to change; written back atomically (mode 600) when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self.records()
            yield records
            text = json.dumps(
                {"version": FILE_VERSION, "keys": [asdict(r) for r in records]}, indent=2
            )
            fd, tmp = tempfile.mkstemp(prefix=".keys.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


class KeyChecker:
    """The service's view of the key file: which presented keys are valid, cheaply.

    ``refresh`` (a stat; the file is re-read only when it changed) runs before each check, so
    revocation takes effect at once. Thread-safe: hashes are checked in worker threads.
    """

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._by_id: dict[str, KeyRecord] = {}
        self._valid: dict[bytes, str] = {}  # sha256(key) -> key id, checked once
        self._invalid: set[bytes] = set()
        self.ever_had_keys = False

    def refresh(self) -> None:
        try:
            st = self.store.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        records = {r.id: r for r in self.store.records() if r.active} if stamp else {}
        with self._lock:
            self._stamp = stamp
            self._by_id = records
            self._valid = {d: i for d, i in self._valid.items() if i in records}
            self._invalid.clear()
            self.ever_had_keys = self.ever_had_keys or bool(records)

    @property
    def has_keys(self) -> bool:
        return bool(self._by_id)

    def cached(self, token: str) -> KeyRecord | None | bool:
        """The key's record if it was checked before, None if known bad, False if unchecked."""
        digest = hashlib.sha256(token.encode()).digest()
        key_id = self._valid.get(digest)
        if key_id is not None:
            return self._by_id.get(key_id)
        if digest in self._invalid or key_id_of(token) not in self._by_id:
            return None
        return False

    def check(self, token: str) -> KeyRecord | None:
        """Verify the key against its stored hash (slow: call from a worker thread)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        digest = hashlib.sha256(token.encode()).digest()
        record = self._by_id.get(key_id_of(token) or "")
        ok = False
        if record is not None:
            try:
                ok = _hasher().verify(record.hash, token)
            except (VerificationError, InvalidHashError):
                ok = False
        with self._lock:
            if ok and record is not None and record.id in self._by_id:
                self._valid[digest] = record.id
                return record
            if len(self._invalid) >= NEGATIVE_CACHE_LIMIT:
                self._invalid.clear()
            self._invalid.add(digest)
        return None
