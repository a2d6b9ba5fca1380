"""The worker is tested against a real todo-api feed over HTTP rather than a stub, so that it
meets the paging and gaps production has. The plain helpers below are shared by this
directory's test modules, which import them as `.conftest`."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import icalendar
import pytest
from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.storage import CalendarStore
from ical_worker.store.tables import create_schema, owners, todo_versions
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, func, select

from taskoverflow_events import DecodedEvent, decode
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.http_servers import serve_wsgi
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings as TodoApiSettings
from todo_api.domain.commands import CreateTodo
from todo_api.store import event_store
from todo_api.store.migrate import upgrade


@dataclass
class TodoApi:
    """A real todo-api (PostgreSQL, HTTP) whose feed the worker reads; written to directly."""

    url: str
    todos: TodoApplication
    calendars: CalendarExport

    def events(self, owner: str = "default") -> list[DecodedEvent]:
        with self.todos.engine.connect() as conn:
            page = event_store.owner_events(conn, owner, after=0, limit=100_000)
        return [decode(body) for _, body in page]


@pytest.fixture
def todo_api(postgres_database: Callable[[], str], aws: AwsWorld) -> Iterator[TodoApi]:
    url = postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    todos = TodoApplication(engine)
    app = create_app(TodoApiSettings(database_url=url, aws=aws.settings), application=todos)
    with serve_wsgi(app) as base_url:
        yield TodoApi(base_url, todos, CalendarExport(engine))
    engine.dispose()


@pytest.fixture
def worker_engine(postgres_database: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(postgres_database())
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def make_worker(
    worker_engine: Engine, aws: AwsWorld, todo_api: TodoApi
) -> Callable[..., CalendarWorker]:
    def make(
        feed_url: str | None = None,
        give_up_after_receives: int = 4,
        publisher: Publisher | None = None,
        **options: Any,
    ) -> CalendarWorker:
        return CalendarWorker(
            worker_engine,
            Projection(FeedClient(feed_url or todo_api.url, timeout=2)),
            CalendarStore(aws.settings.client("s3"), aws.topology.bucket),
            publisher or Publisher(aws.settings.client("sns"), aws.topic_arn("calendar-events")),
            give_up_after_receives=give_up_after_receives,
            **options,
        )

    return make


OWNER = "default"


def create(api: TodoApi, title: str, day: int, **fields: Any) -> int:
    deadline = datetime(2026, 12, day, 9)
    return api.todos.create(OWNER, CreateTodo(title=title, deadline_at=deadline, **fields)).id


def deliver(worker: CalendarWorker, events: list[DecodedEvent], *, times: int = 1) -> None:
    for _ in range(times):
        for event in events:
            if event.event_type == "TodoChanged":
                worker.apply_todo_changed(event)
            else:
                worker.render_calendar(event)


def applied(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(owners.c.applied_sequence)).scalar_one())


def projected(engine: Engine) -> int:
    """How many VEVENTs the projection holds now (current versions)."""
    with engine.connect() as conn:
        current = select(func.count()).where(todo_versions.c.valid_to.is_(None))
        return int(conn.execute(current).scalar_one())


def current_bodies(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(todo_versions.c.body).where(todo_versions.c.valid_to.is_(None))
        ).scalars()
        return sorted(rows)


def calendar_titles(aws: AwsWorld, key: str) -> list[str]:
    body = aws.settings.client("s3").get_object(Bucket=aws.topology.bucket, Key=key)["Body"].read()
    return [str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]


@pytest.fixture
def calendar_tap(aws: AwsWorld) -> TopicTap:
    return TopicTap(aws.settings, aws.topic_arn("calendar-events"))


def generated_key(tap: TopicTap) -> str:
    published = bodies(tap.read(2, timeout=10))
    [generated] = [b for b in published if b["event_type"] == "CalendarGenerated"]
    return str(generated["data"]["key"])
