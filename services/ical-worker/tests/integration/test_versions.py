"""A calendar renders exactly the state at its `as_of`, wherever the projection stands: behind
(the request overtook its owner's changes), exactly there, or ahead (later changes applied
first); and the feed is read with no lock held."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.store import versions
from ical_worker.store.tables import owners
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, select

from taskoverflow_events import DecodedEvent
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.domain.commands import CreateTodo, DeleteTodo, UpdateTodo

from .conftest import TodoApi

OWNER = "default"


class CountingFeed(FeedClient):
    """todo-api's real feed, counting the reads."""

    reads = 0

    def events(self, owner: str, *, after: int, until: int | None = None) -> Iterator[Any]:
        CountingFeed.reads += 1
        yield from super().events(owner, after=after, until=until)


@pytest.fixture
def feed(todo_api: TodoApi) -> CountingFeed:
    CountingFeed.reads = 0
    return CountingFeed(todo_api.url, timeout=5)


@pytest.fixture
def worker(make_worker: Callable[..., CalendarWorker], feed: CountingFeed) -> CalendarWorker:
    worker = make_worker()
    worker._projection = Projection(feed)  # the same worker, reading through the counter
    worker._renderer._projection = worker._projection
    return worker


def create(api: TodoApi, title: str, day: int) -> int:
    deadline = datetime(2026, 12, day, 9)
    return api.todos.create(OWNER, CreateTodo(title=title, deadline_at=deadline)).id


def titles_of(aws: AwsWorld, tap: TopicTap) -> list[str]:
    [generated] = [b for b in bodies(tap.read(2, timeout=10)) if "key" in b["data"]]
    obj = aws.settings.client("s3").get_object(
        Bucket=generated["data"]["bucket"], Key=generated["data"]["key"]
    )
    calendar = icalendar.Calendar.from_ical(obj["Body"].read())
    return [str(e["summary"]) for e in calendar.walk("VEVENT")]


def applied(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(owners.c.applied_sequence)).scalar_one())


@pytest.fixture
def calendar_tap(aws: AwsWorld) -> TopicTap:
    return TopicTap(aws.settings, aws.topic_arn("calendar-events"))


def split(events: list[DecodedEvent]) -> tuple[list[DecodedEvent], list[DecodedEvent]]:
    changes = [e for e in events if e.event_type == "TodoChanged"]
    return changes, [e for e in events if e.event_type == "CalendarRequested"]


def test_a_request_ahead_of_its_owners_changes_renders_them_all_and_steps_past_itself(
    todo_api: TodoApi,
    worker: CalendarWorker,
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    for day in range(1, 6):
        create(todo_api, f"t{day}", day)
    todo_api.calendars.request(OWNER)
    changes, [request] = split(todo_api.events())
    worker.render_calendar(request)  # none of the five changes has reached the worker yet
    assert titles_of(aws, calendar_tap) == [f"t{day}" for day in range(1, 6)]
    assert applied(worker_engine) == 6, "the projection moved past the request itself"
    create(todo_api, "t6", 6)
    reads = CountingFeed.reads
    worker.apply_todo_changes(changes + todo_api.events()[-1:])  # 5 duplicates, then seq 7
    assert applied(worker_engine) == 7
    assert CountingFeed.reads == reads, "no gap was left for the next change to fill"


def test_a_request_behind_later_changes_renders_exactly_its_own_point_from_the_projection(
    todo_api: TodoApi,
    worker: CalendarWorker,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    first, second = create(todo_api, "first", 1), create(todo_api, "second", 2)
    todo_api.calendars.request(OWNER)  # as_of 2
    todo_api.todos.update(OWNER, UpdateTodo(first, {"title": "first, renamed"}))
    todo_api.todos.delete(OWNER, DeleteTodo(second))
    create(todo_api, "third", 3)
    changes, [request] = split(todo_api.events())
    worker.apply_todo_changes(changes)  # the projection is now at 6, past the request's 2
    reads = CountingFeed.reads
    worker.render_calendar(request)
    assert titles_of(aws, calendar_tap) == ["first", "second"]
    assert CountingFeed.reads == reads, "rendered from the kept versions, not the whole feed"


def test_a_point_older_than_the_kept_history_is_folded_from_the_feed_and_still_exact(
    todo_api: TodoApi,
    worker: CalendarWorker,
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    first = create(todo_api, "first", 1)
    todo_api.calendars.request(OWNER)  # as_of 1
    todo_api.todos.update(OWNER, UpdateTodo(first, {"title": "renamed"}))
    changes, [request] = split(todo_api.events())
    worker.apply_todo_changes(changes)
    with worker_engine.begin() as conn:
        later = datetime.now(UTC).replace(tzinfo=None) + timedelta(1)
        pruned = versions.prune_owner(conn, OWNER, closed_before=later)
    assert pruned == 1
    reads = CountingFeed.reads
    worker.render_calendar(request)
    assert titles_of(aws, calendar_tap) == ["first"]
    assert CountingFeed.reads > reads, "the history no longer covered it: read from the feed"


def test_a_gap_is_read_from_the_feed_before_the_owner_is_locked(
    todo_api: TodoApi, worker: CalendarWorker, worker_engine: Engine, feed: CountingFeed
) -> None:
    for day in range(1, 4):
        create(todo_api, f"t{day}", day)
    events = todo_api.events()
    worker.apply_todo_changes(events[:1])
    done = threading.Event()
    with worker_engine.connect() as holder:  # someone holds the owner's row meanwhile
        holder.execute(select(owners).where(owners.c.owner == OWNER).with_for_update())
        reads = CountingFeed.reads
        thread = threading.Thread(
            target=lambda: (worker.apply_todo_changes(events[2:]), done.set()), daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while CountingFeed.reads == reads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert CountingFeed.reads > reads, "the gap was not read while the lock was held"
        assert not done.is_set(), "and the change itself waited for the lock"
        holder.rollback()
    thread.join(10)
    assert done.is_set()
    assert applied(worker_engine) == 3


def test_pruning_skips_an_owner_busy_right_now_and_prunes_it_later(
    todo_api: TodoApi, worker: CalendarWorker, worker_engine: Engine
) -> None:
    first = create(todo_api, "first", 1)
    todo_api.todos.update(OWNER, UpdateTodo(first, {"title": "renamed"}))
    worker.apply_todo_changes(todo_api.events())
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(1)
    with worker_engine.connect() as holder:  # a render or a change has the owner in hand
        holder.execute(select(owners).where(owners.c.owner == OWNER).with_for_update())
        with worker_engine.begin() as conn:
            assert versions.prune_owner(conn, OWNER, closed_before=later) is None
        holder.rollback()
    with worker_engine.begin() as conn:
        assert versions.prune_owner(conn, OWNER, closed_before=later) == 1
        history_from = conn.execute(select(owners.c.history_from)).scalar_one()
    assert history_from == 2, "the history now starts where the pruned version ended"
