"""MLflow's own logins (``mlflow server --app-name basic-auth``): its config and its user store.

The store is a Postgres database beside the tracking one (``mlflow_auth``), changed through
MLflow's user API by the service account. Roles map onto it:
an operator is an MLflow admin (edits everything, moves the ``champion`` alias), a viewer an
ordinary user who only reads (``default_permission = READ``). The Dagster runs log as a service
account, an admin too, whose name and password come from ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD`` (MLflow's client reads the same variables).
"""

from __future__ import annotations

import os
from pathlib import Path

from playlist_assets.lib.service.users import OPERATOR

USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
AUTH_DB_ENV = "MLFLOW_AUTH_DATABASE_URI"
CONFIG_ENV = "MLFLOW_AUTH_CONFIG_PATH"
SECRET_KEY_ENV = "MLFLOW_FLASK_SERVER_SECRET_KEY"
DEFAULT_SERVICE_ACCOUNT = "dagster-runs"
APP_NAME = "basic-auth"
# Everyone signed in reads every experiment and model; only admins (operators, the service
# account) and a resource's owner change it.
DEFAULT_PERMISSION = "READ"
AUTH_CACHE_TTL_S = 300


def config_text(database_uri: str) -> str:
    """MLflow's auth config. It names the store's URL (with its password): written mode 600."""
    return (
        "[mlflow]\n"
        f"default_permission = {DEFAULT_PERMISSION}\n"
        f"database_uri = {database_uri}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = true\n"
        # A login's hash (scrypt) is checked once per AUTH_CACHE_TTL_S, not on every request: the
        # runs log a metric per request. One worker, and users change through its API (which
        # drops the entry), so nothing goes stale.
        f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n"
    )


def write_config(path: Path, database_uri: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(config_text(database_uri))
    os.chmod(path, 0o600)


class MlflowUsersError(Exception):
    """MLflow's user API refused or did not answer: one line saying which and why."""


def _call(base_url: str, admin: tuple[str, str], method: str, path: str, body: dict) -> int:
    """One call of MLflow's user API (``/api/2.0/mlflow/users/...``) as the service account.

    The REST API rather than MLflow's store classes: importing those builds MLflow's whole
    server app (~15 s); this is one HTTP request, and MLflow invalidates its own caches.
    """
    import base64
    import json
    import urllib.error
    import urllib.request

    token = base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/2.0/mlflow/users/{path}",
        data=None if method == "GET" else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 404
        detail = exc.read().decode(errors="replace").strip()[:200]
        what = path.split("?")[0]
        raise MlflowUsersError(f"MLflow refused users/{what} ({exc.code}): {detail}") from exc
    except OSError as exc:
        raise MlflowUsersError(
            f"MLflow does not answer at {base_url} ({exc}): start the profile first "
            "(scripts/serve.sh start)"
        ) from exc


def set_user(
    base_url: str, admin: tuple[str, str], name: str, password: str, is_admin: bool
) -> None:
    """Create the user, or give an existing one this password; then set its admin flag."""
    body = {"username": name, "password": password}
    if _call(base_url, admin, "GET", f"get?username={name}", {}) == 404:
        _call(base_url, admin, "POST", "create", body)
    else:
        _call(base_url, admin, "PATCH", "update-password", body)
    _call(base_url, admin, "PATCH", "update-admin", {"username": name, "is_admin": is_admin})


def set_role_user(
    base_url: str, admin: tuple[str, str], name: str, password: str, role: str
) -> None:
    set_user(base_url, admin, name, password, is_admin=role == OPERATOR)


def remove_user(base_url: str, admin: tuple[str, str], name: str) -> bool:
    """Delete the user; False if MLflow had no such user."""
    return _call(base_url, admin, "DELETE", "delete", {"username": name}) != 404
