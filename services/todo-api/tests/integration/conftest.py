from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.plugin import AwsEndpoint, aws_settings_for
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.config import Settings
from todo_api.store.migrate import upgrade
from todo_api.store.tables import metadata

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def pg_url(postgres_database: Callable[[], str]) -> str:
    url = postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """The session's migrated database, emptied before each test."""
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    yield engine
    engine.dispose()


@pytest.fixture
def settings(pg_url: str, aws_endpoint: AwsEndpoint) -> Settings:
    """Settings whose AWS endpoint is the session's (the result endpoint reads S3)."""
    return Settings(database_url=pg_url, aws=aws_settings_for(aws_endpoint.url))


@pytest.fixture
def application(pg_engine: Engine) -> TodoApplication:
    return TodoApplication(pg_engine)


@pytest.fixture
def client(settings: Settings, application: TodoApplication) -> FlaskClient:
    return create_app(settings, application=application).test_client()
