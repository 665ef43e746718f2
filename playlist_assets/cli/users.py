"""``playlist-assets users``: who may pass the service profile's door, and with which role.

    playlist-assets users add NAME --role operator|viewer [--password-stdin]
    playlist-assets users list
    playlist-assets users remove NAME

Writes the door's users file (argon2id hashes, mode 600) and MLflow's user store (operators are
MLflow admins, viewers read; through MLflow's user API, as the runs' service account) together;
the door reads the file again at its next request, so a removed user is refused at once. MLflow
must be running: start the profile first (``scripts/serve.sh start``; without users its door
stays on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import fcntl
import getpass
import os
import sys
from contextlib import contextmanager

from playlist_assets.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "users",
        help="add, list or remove the service profile's users (operator | viewer)",
        description="Users of the service profile's door (nginx) and of MLflow, written together. "
        "operator: the Dagster UI, MLflow edit, the dashboard; viewer: the read-only Dagster UI "
        "(/view/), MLflow read, the dashboard.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a user, or change an existing user's password and role")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("operator", "viewer"))
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts); "
        "otherwise it is asked twice at the terminal",
    )
    add.set_defaults(func=_add)
    listing = sub.add_parser("list", help="the users and their roles")
    listing.set_defaults(func=_list)
    remove = sub.add_parser("remove", help="remove a user (refused at the next request)")
    remove.add_argument("name")
    remove.set_defaults(func=_remove)


def _profile():
    from playlist_assets.lib.service.profile import Profile

    try:
        return Profile.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from exc


@contextmanager
def _locked(profile):
    """One users command at a time (the file and MLflow's store change together)."""
    profile.service_dir.mkdir(parents=True, exist_ok=True)
    with open(profile.service_dir / ".users.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _mlflow(profile) -> tuple[str, tuple[str, str]]:
    """MLflow's URL on loopback and the service account that manages its users."""
    from playlist_assets import settings
    from playlist_assets.lib.service.mlflow_auth import PASSWORD_ENV, USERNAME_ENV
    from playlist_assets.lib.service.profile import MLFLOW_PREFIX, service_account_env

    try:
        account = service_account_env(profile, os.environ)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    url = os.environ.get(settings.MLFLOW_URI_ENV) or profile.url("mlflow", MLFLOW_PREFIX)
    return url, (account[USERNAME_ENV], account[PASSWORD_ENV])


@contextmanager
def _mlflow_errors():
    from playlist_assets.lib.service.mlflow_auth import MlflowUsersError

    try:
        yield
    except MlflowUsersError as exc:
        raise CliError(str(exc)) from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the two passwords differ; nothing changed")
    return first


def _add(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service import mlflow_auth, users

    profile = _profile()
    service_account = (
        os.environ.get(mlflow_auth.USERNAME_ENV) or mlflow_auth.DEFAULT_SERVICE_ACCOUNT
    )
    if args.name == service_account:
        raise CliError(f"{args.name!r} is the runs' MLflow service account; choose another name")
    password = _read_password(args.password_stdin)
    try:
        user = users.new_user(args.name, args.role, password)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    with _locked(profile), _mlflow_errors():
        mlflow_auth.set_role_user(*_mlflow(profile), user.name, password, user.role)
        known = users.load(profile.users_file)
        changed = user.name in known
        users.save(profile.users_file, {**known, user.name: user})
    print(
        f"{'updated' if changed else 'added'} {user.name} ({user.role}) in {profile.users_file} and MLflow"
    )
    if not known:
        print(
            "first user: if the profile started without users its door listens on 127.0.0.1 "
            "only; open it with: SERVE_HOST=<address> scripts/serve.sh restart proxy"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service import users

    profile = _profile()
    try:
        known = users.load(profile.users_file)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not known:
        print(f"no users in {profile.users_file}: playlist-assets users add NAME --role operator")
    for user in sorted(known.values(), key=lambda u: u.name):
        print(f"{user.name}\t{user.role}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from playlist_assets.lib.service import mlflow_auth, users

    profile = _profile()
    with _locked(profile), _mlflow_errors():
        known = users.load(profile.users_file)
        if args.name not in known:
            raise CliError(f"no user {args.name!r} in {profile.users_file}")
        # The door first: the user is refused from this moment, even if MLflow is unreachable.
        users.save(profile.users_file, {n: u for n, u in known.items() if n != args.name})
        mlflow_auth.remove_user(*_mlflow(profile), args.name)
    print(f"removed {args.name} from {profile.users_file} and MLflow")
    return 0
