"""Postgres URLs as Dagster, MLflow and libpq spell them, and failures as one actionable line."""

from __future__ import annotations

import socket

import psycopg2

from playlist_assets.lib.service import postgres


def test_every_spelling_becomes_the_psycopg2_driver_sqlalchemy_needs() -> None:
    for url in (
        "postgres://u:p@db:5432/dagster",
        "postgresql://u:p@db:5432/dagster",
        "postgresql+psycopg://u:p@db:5432/dagster",
        "postgresql+psycopg2://u:p@db:5432/dagster",
    ):
        assert postgres.sqlalchemy_url(url) == "postgresql+psycopg2://u:p@db:5432/dagster"
        assert postgres.libpq_url(url) == "postgresql://u:p@db:5432/dagster"


def test_local_url_quotes_any_password_and_it_reads_back() -> None:
    password = "a b/c@d:e%f?g#"
    url = postgres.local_url("playlist", password, "127.0.0.1", 5433, "dagster")
    assert url.startswith("postgresql+psycopg2://playlist:")
    # libpq parses it back to the same password (what the servers will see).
    params = psycopg2.extensions.parse_dsn(postgres.libpq_url(url))
    assert params["password"] == password and params["port"] == "5433"
    assert postgres.describe(url) == "127.0.0.1:5433/dagster as playlist"
    assert password not in postgres.describe(url)


def test_mlflow_backend_is_the_same_server_with_its_own_database() -> None:
    url = "postgresql+psycopg2://u:p%40x@db:5432/dagster?sslmode=require"
    assert (
        postgres.sibling_database(url, "mlflow")
        == "postgresql+psycopg2://u:p%40x@db:5432/mlflow?sslmode=require"
    )


def test_failures_name_the_setting_to_fix() -> None:
    wrong = 'FATAL:  password authentication failed for user "playlist"'
    assert postgres.connect_failure(wrong, "playlist", "DATABASE_URL") == (
        "password authentication failed for user 'playlist': check the password in DATABASE_URL"
    )
    missing = 'connection to server failed\nFATAL:  database "mlfow" does not exist'
    assert postgres.connect_failure(missing, "u", "MLFLOW_BACKEND_STORE_URI") == (
        'database "mlfow" does not exist: create it or fix MLFLOW_BACKEND_STORE_URI'
    )
    other = "SSL SYSCALL error: EOF detected\nmore"
    assert postgres.connect_failure(other, "u", "X") == "SSL SYSCALL error: EOF detected (check X)"


def test_a_server_that_is_not_there_is_said_so_without_the_password() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = postgres.check_connection(
        f"postgresql://playlist:secret-pw@127.0.0.1:{port}/dagster", "DATABASE_URL"
    )
    assert line == (
        f"cannot connect to Postgres at 127.0.0.1:{port}/dagster as playlist: "
        "no server answers: is Postgres down? (check DATABASE_URL)"
    )
