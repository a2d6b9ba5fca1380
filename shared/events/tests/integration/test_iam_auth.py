"""Each connection a pool opens logs in with a password asked for then, as RDS IAM tokens need:
one lasts 15 minutes, the pool far longer (db_auth.py, ADR 13).

Against the local PostgreSQL, which trusts 127.0.0.1 and so checks no password: what is shown is
that the password (token) each connection hands to libpq is a fresh one from the source, that
only a new connection asks for one, and that DATABASE_IAM_AUTH=true signs a real token with
boto3 (a local computation: no AWS endpoint is called, dummy credentials do).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from taskoverflow_events.db_auth import RdsIamToken
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.process import common_settings
from taskoverflow_testing.postgres import admin_url


@pytest.fixture
def role_url(postgres_database: Callable[[], str]) -> Iterator[str]:
    """A fresh database, reached as a role of its own whose URL holds no password."""
    role = f"iam_user_{uuid.uuid4().hex[:8]}"
    superuser = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with superuser.connect() as conn:
        conn.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'not-a-token'"))
    url = make_url(postgres_database()).set(username=role, password=None)
    yield url.render_as_string(hide_password=False)
    with superuser.connect() as conn:
        conn.execute(text(f'DROP ROLE "{role}"'))
    superuser.dispose()


def password_of(conn: Connection) -> str:
    """The password libpq logged this connection in with."""
    return str(conn.connection.dbapi_connection.info.password)  # type: ignore[union-attr]


@pytest.mark.integration
def test_only_a_new_connection_asks_for_a_password_and_each_gets_a_fresh_one(
    role_url: str,
) -> None:
    asked: list[tuple[str, int, str]] = []

    def tokens(host: str, port: int, user: str) -> str:
        asked.append((host, port, user))
        return f"token-{len(asked)}"

    # One connection kept in the pool; a second at once is opened, then closed when returned.
    engine = make_engine(role_url, password=tokens, pool_size=1, max_overflow=1)
    role = make_url(role_url).username
    with engine.connect() as first, engine.connect() as second:
        assert (password_of(first), password_of(second)) == ("token-1", "token-2")
        assert second.execute(text("SELECT current_user")).scalar_one() == role
    with engine.connect() as reused:
        assert password_of(reused) in ("token-1", "token-2")
        assert len(asked) == 2, "a connection from the pool logs in no more"
        reused.invalidate()  # as when the server or the network drops it
    with engine.connect() as replaced:
        assert password_of(replaced) == "token-3"
    assert asked == [("127.0.0.1", 5432, role)] * 3
    engine.dispose()


@pytest.mark.integration
def test_database_iam_auth_signs_a_token_for_each_connection(role_url: str) -> None:
    settings = common_settings(
        {
            "DATABASE_IAM_AUTH": "true",
            "DATABASE_PASSWORD": "ignored-with-iam",
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "dummy",
        }
    )
    source = settings["database_password"]
    assert isinstance(source, RdsIamToken)
    engine = make_engine(role_url, password=source, pool_size=2, max_overflow=0)
    with engine.connect() as first, engine.connect() as second:
        tokens = [password_of(first), password_of(second)]
    engine.dispose()
    role = make_url(role_url).username
    for token in tokens:
        assert token.startswith(f"127.0.0.1:5432/?Action=connect&DBUser={role}&"), token
        query = parse_qs(urlsplit(f"//{token}").query)
        assert query["X-Amz-Expires"] == ["900"]
        assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
        assert query["X-Amz-Credential"][0].endswith("/eu-west-1/rds-db/aws4_request")


def test_without_iam_auth_the_password_is_database_password() -> None:
    assert common_settings({"DATABASE_PASSWORD": "s3cret"})["database_password"] == "s3cret"
    assert common_settings({})["database_password"] is None
    assert isinstance(
        common_settings({"DATABASE_IAM_AUTH": "TRUE"})["database_password"], RdsIamToken
    )
