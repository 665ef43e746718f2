"""Postgres URLs as each client spells them, and a failed connection as one line a user can act on.

Dagster's storage and MLflow's backend go through SQLAlchemy, whose ``postgresql://`` means
psycopg 3 since 2.1 while both need psycopg2 (``postgresql+psycopg2://``); libpq (psycopg2
itself) wants no driver tag at all.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

SQLALCHEMY_SCHEME = "postgresql+psycopg2"
DEFAULT_PORT = 5432


def sqlalchemy_url(url: str) -> str:
    """``postgres://`` / ``postgresql://`` / ``postgresql+driver://`` -> ``postgresql+psycopg2://``."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", f"{SQLALCHEMY_SCHEME}://", url.strip(), count=1)


def libpq_url(url: str) -> str:
    """The same server and database as libpq (and psycopg2.connect) reads it: no driver tag."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url.strip(), count=1)


def local_url(user: str, password: str, host: str, port: int, database: str) -> str:
    """The SQLAlchemy URL of the local server; the password is quoted (any character is safe)."""
    netloc_host = f"[{host}]" if ":" in host else host
    return (
        f"{SQLALCHEMY_SCHEME}://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@{netloc_host}:{port}/{database}"
    )


def sibling_database(url: str, database: str) -> str:
    """The same server and credentials, another database (MLflow's beside Dagster's)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def describe(url: str) -> str:
    """``host:port/db as user``: where a URL points, without its password."""
    parts = urlsplit(libpq_url(url))
    return f"{parts.hostname}:{parts.port or DEFAULT_PORT}{parts.path} as {parts.username}"


def connect_failure(error_text: str, username: str | None, setting: str) -> str:
    """Why a connection failed, in words naming the setting to fix (never the password)."""
    text = error_text.strip()
    if "password authentication failed" in text:
        return (
            f"password authentication failed for user {username!r}: check the password in {setting}"
        )
    if "does not exist" in text:
        what = text.splitlines()[-1].split("FATAL:")[-1].strip()
        return f"{what}: create it or fix {setting}"
    if any(s in text for s in ("Connection refused", "could not connect", "timeout", "timed out")):
        return f"no server answers: is Postgres down? (check {setting})"
    first = text.splitlines()[0] if text else "unknown error"
    return f"{first} (check {setting})"


def check_connection(url: str, setting: str, timeout_s: int = 5) -> str | None:
    """None if a connection opens, else one line naming where, the setting and the cause."""
    import psycopg2

    target = libpq_url(url)
    try:
        psycopg2.connect(target, connect_timeout=timeout_s).close()
    except psycopg2.OperationalError as exc:
        cause = connect_failure(str(exc), urlsplit(target).username, setting)
        return f"cannot connect to Postgres at {describe(url)}: {cause}"
    return None
