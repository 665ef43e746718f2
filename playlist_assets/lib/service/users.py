"""The door's users: name, role and an argon2id hash of the password, in one private file.

``playlist-assets users`` writes it (with MLflow's user store, see ``mlflow_auth.py``); the
door's check (``door.py``) reads it again whenever it changes, so a removed user is refused at
the next request. No password is stored or logged, only its hash.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

OPERATOR = "operator"
VIEWER = "viewer"
ROLES = (OPERATOR, VIEWER)
# Letters, digits and . _ - : safe in a log line, a URL and an HTTP Basic user name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
FORMAT_VERSION = 1


def hasher():
    """argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~50 ms a check on
    this 2-core machine; the door checks a password once per login, not per request."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def load(path: Path) -> dict[str, User]:
    """Every user in ``path`` (none if the file does not exist yet)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path}: not a users file ({exc})") from exc
    return {name: User(name, entry["role"], entry["hash"]) for name, entry in data["users"].items()}


def save(path: Path, users: dict[str, User]) -> None:
    """Write atomically (a reader sees the old or the new file, whole), mode 600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": FORMAT_VERSION,
        "users": {
            u.name: {"role": u.role, "hash": u.password_hash}
            for u in sorted(users.values(), key=lambda u: u.name)
        },
    }
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1)
            out.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_user(name: str, role: str, password: str) -> User:
    check_name(name)
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
    check_password(password)
    return User(name, role, hasher().hash(password))


def verify(user: User, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
