"""Per-owner limits and idempotency keys: apps configured from environment variables as a
deployment's are, on a clock the test moves, and on either database where both must work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, Table, func, select

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.clocks import ManualClock
from taskoverflow_testing.plugin import AwsEndpoint
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.config import Settings
from todo_api.store import owners
from todo_api.store.migrate import upgrade


class AppFactory(Protocol):
    def __call__(self, engine: Engine, **env: str) -> FlaskClient: ...


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """PostgreSQL (tests, AWS) and SQLite (`make run`): the limits must hold on both."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'todo-api.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_on(aws_endpoint: AwsEndpoint, clock: ManualClock) -> AppFactory:
    """A web app (AUTH_MODE=token) on `engine` and the test's clock; `env` as a deployment
    would set it, so a setting the code does not know is simply ignored."""

    def make(engine: Engine, **env: str) -> FlaskClient:
        settings = Settings.from_env(
            {
                "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                "AUTH_MODE": "token",
                "AWS_ENDPOINT_URL": aws_endpoint.url,
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                **env,
            }
        )
        application = TodoApplication(engine, clock=clock)
        return create_app(settings, application=application).test_client()

    return make


class OwnerFactory(Protocol):
    def __call__(self, engine: Engine, name: str) -> dict[str, str]: ...


class RowCounter(Protocol):
    def __call__(self, engine: Engine, table: Table, owner: str) -> int: ...


@pytest.fixture
def new_owner() -> OwnerFactory:
    """Makes an owner on `engine`; returns its Authorization header."""

    def make(engine: Engine, name: str) -> dict[str, str]:
        with engine.begin() as conn:
            made = owners.create(conn, name, now=ManualClock().now)
        return {"Authorization": f"Bearer {made.token}"}

    return make


@pytest.fixture
def rows_of() -> RowCounter:
    """How many rows of `table` (events, calendar_jobs, todos) belong to `owner`."""

    def count(engine: Engine, table: Table, owner: str) -> int:
        with engine.connect() as conn:
            query = select(func.count()).select_from(table).where(table.c.owner == owner)
            return int(conn.execute(query).scalar_one())

    return count
