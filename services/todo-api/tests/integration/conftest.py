import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from taskoverflow_events import decode
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.contracts import sample
from taskoverflow_testing.plugin import AwsEndpoint, AwsWorld, aws_settings_for
from taskoverflow_testing.queues import TopicTap
from todo_api.admin import owners as owners_admin
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.consumer.handlers import handlers
from todo_api.relay.relay import Relay
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


TODO_TOPIC = "todo-events.fifo"


@pytest.fixture
def worker_tap(aws: AwsWorld) -> TopicTap:
    """A queue with the ical-worker's own filter (over both its queues), so we see exactly what
    it would get, in the order it was published."""
    policy = aws.service_filter_policy(TODO_TOPIC, "ical-worker")
    return TopicTap(aws.settings, aws.topic_arn(TODO_TOPIC), filter_policy=policy)


class RelayFactory(Protocol):
    def __call__(self, engine: Engine, aws: AwsWorld, sns: Any = None, **options: Any) -> Relay: ...


@pytest.fixture
def make_relay() -> RelayFactory:
    """A relay on `engine` publishing to the world's todo topic; quick to poll and back off."""

    def make(engine: Engine, aws: AwsWorld, sns: Any = None, **options: Any) -> Relay:
        sns = sns or aws.settings.client("sns")
        options = {"idle_seconds": 0.01, "max_backoff_seconds": 0.5, **options}
        return Relay(engine, Publisher(sns, aws.topic_arn(TODO_TOPIC)), **options)

    return make


# The owners CLI's key in these tests; each owner's webhook secret derives from it (ADR 11).
SIGNING_KEY = "todo-api-test-signing-key-" + "5" * 40


@dataclass
class OwnersCli:
    """`todo-api-owners --json …` as an operator runs it, in this process, on the test database."""

    capsys: pytest.CaptureFixture[str]
    signing_key: str = SIGNING_KEY

    def run(self, *args: str) -> dict[str, Any]:
        """The command's JSON answer; it must succeed."""
        code = owners_admin.main(["--json", *args])
        out, err = self.capsys.readouterr()
        assert code == 0, err
        answer: dict[str, Any] = json.loads(out)
        return answer

    def refused(self, *args: str) -> str:
        """Why the command was refused (exit code 2, nothing on stdout)."""
        code = owners_admin.main(["--json", *args])
        out, err = self.capsys.readouterr()
        assert (code, out) == (2, ""), out
        return err


@pytest.fixture
def owners_cli(
    pg_url: str,
    pg_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> OwnersCli:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    return OwnersCli(capsys)


# Shared by the HTTP contract's and the calendar jobs' test modules (and test_notifications),
# which import them as `.conftest`: plain functions, since each call needs its own arguments.
TODOS = "/api/v1/todos"
STAMP = "%Y-%m-%dT%H:%M:%S"


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post(TODOS, json={"title": "A todo", **fields})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


def events(client: FlaskClient) -> list[dict[str, Any]]:
    return client.get("/api/v1/events?limit=1000").json["events"]  # type: ignore[index]


ICAL = "/api/v1/todos/ical"


def request_job(client: FlaskClient, body: Any = None) -> str:
    response = client.post(ICAL, json=body) if body is not None else client.post(ICAL)
    assert response.status_code == 202, response.json
    return str(response.json["task_id"])


def status(client: FlaskClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"{ICAL}/{job_id}/status")
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


def consume(export: CalendarExport, event_type: str, version: int = 1, **data: Any) -> None:
    handlers(export)[event_type](decode(json.dumps(sample(event_type, version, **data))))


@pytest.fixture
def export(application: TodoApplication) -> CalendarExport:
    return CalendarExport(application.engine)
