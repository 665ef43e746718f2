"""MLflow's own logins (``mlflow server --app-name basic-auth``): its config and its user store.

The store is a Postgres database beside the tracking one (``mlflow_auth``). Roles map onto it:
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


def config_text(database_uri: str) -> str:
    """MLflow's auth config. It names the store's URL (with its password): written mode 600."""
    return (
        "[mlflow]\n"
        f"default_permission = {DEFAULT_PERMISSION}\n"
        f"database_uri = {database_uri}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = true\n"
    )


def write_config(path: Path, database_uri: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(config_text(database_uri))
    os.chmod(path, 0o600)


def _store(database_uri: str):
    import warnings

    with warnings.catch_warnings():  # MLflow's server modules warn about their own imports
        warnings.simplefilter("ignore")
        from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(database_uri)  # creates or migrates the tables (as the server does)
    return store


def set_user(database_uri: str, name: str, password: str, is_admin: bool) -> None:
    """Create the user, or give an existing one this password and admin flag."""
    store = _store(database_uri)
    if store.has_user(name, use_primary=True):
        store.update_user(name, password=password, is_admin=is_admin)
    else:
        store.create_user(name, password, is_admin=is_admin)
    store.engine.dispose()


def set_role_user(database_uri: str, name: str, password: str, role: str) -> None:
    set_user(database_uri, name, password, is_admin=role == OPERATOR)


def remove_user(database_uri: str, name: str) -> bool:
    """Delete the user; False if MLflow had no such user."""
    store = _store(database_uri)
    try:
        if not store.has_user(name, use_primary=True):
            return False
        store.delete_user(name)
        return True
    finally:
        store.engine.dispose()
