"""The worker against PostgreSQL, moto (SNS, S3) and a real todo-api event feed over HTTP."""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import icalendar
import pytest
from ical_worker.feed import FeedUnavailable
from ical_worker.rebuild.__main__ import rebuild
from ical_worker.store.tables import owners, rendered_jobs, vevents
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, func, select

from taskoverflow_events import DecodedEvent
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.domain.commands import CreateTodo, UpdateTodo

from .conftest import TodoApi

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
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(vevents)).scalar_one())


def calendar_titles(aws: AwsWorld, key: str) -> list[str]:
    body = aws.settings.client("s3").get_object(Bucket=aws.topology.bucket, Key=key)["Body"].read()
    return [str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]


@pytest.fixture
def calendar_tap(aws: AwsWorld) -> TopicTap:
    return TopicTap(aws.settings, aws.topic_arn("calendar-events"))


def test_todo_changes_apply_once_and_in_sequence(
    todo_api: TodoApi, make_worker: Callable[..., CalendarWorker], worker_engine: Engine
) -> None:
    first = create(todo_api, "a", 1)
    create(todo_api, "b", 2)
    create(todo_api, "no deadline", 3, completed=False)
    todo_api.todos.update(OWNER, UpdateTodo(first, {"deadline_at": None}))
    deliver(make_worker(), todo_api.events(), times=3)  # every message delivered three times
    assert applied(worker_engine) == 4
    assert projected(worker_engine) == 2, "b and 'no deadline' remain; a lost its deadline"


def test_a_gap_is_filled_from_the_feed_before_the_event_applies(
    todo_api: TodoApi, make_worker: Callable[..., CalendarWorker], worker_engine: Engine
) -> None:
    for day in range(1, 6):
        create(todo_api, f"t{day}", day)
    *_missed, last = todo_api.events()
    deliver(make_worker(), [last])
    assert applied(worker_engine) == 5
    assert projected(worker_engine) == 5


def test_a_request_renders_one_object_and_a_redelivery_republishes_the_same_events(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    create(todo_api, "Done already", 2, completed=True)
    job_id = todo_api.calendars.request(OWNER, callback_url="http://127.0.0.1:9/hook")
    events = todo_api.events()
    worker = make_worker()
    deliver(worker, events)
    deliver(worker, events[-1:])  # the CalendarRequested again
    published = bodies(calendar_tap.read(3, timeout=10, settle=1.0))
    assert [b["event_type"] for b in published] == [
        "CalendarGenerationStarted",
        "CalendarGenerated",
        "CalendarGenerated",
    ]
    for body in published:
        validate_envelope(body)
        assert body["correlation_id"] == job_id
        assert body["causation_id"] == str(events[-1].envelope.event_id)
    assert published[1]["event_id"] == published[2]["event_id"], "a repeat, not a new event"
    generated = published[1]["data"]
    assert generated["notify"] == "http://127.0.0.1:9/hook"
    assert generated["event_count"] == 2
    s3 = aws.settings.client("s3")
    listed = s3.list_objects_v2(Bucket=aws.topology.bucket, Prefix=f"calendars/{OWNER}/")
    assert [o["Key"] for o in listed["Contents"]] == [generated["key"]]
    body = s3.get_object(Bucket=aws.topology.bucket, Key=generated["key"])["Body"].read()
    assert len(body) == generated["size"]
    assert hashlib.sha256(body).hexdigest() == generated["sha256"]
    assert calendar_titles(aws, generated["key"]) == ["Pay rent", "[done] Done already"]
    with worker_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rendered_jobs)).scalar_one() == 1


def test_a_calendar_is_as_of_its_request_even_when_the_projection_is_ahead(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "before", 1)
    todo_api.calendars.request(OWNER)
    create(todo_api, "after", 2)
    *_earlier, request, later = todo_api.events()
    worker = make_worker()
    deliver(worker, [later])  # a gap: the projection catches up past the request
    deliver(worker, [request])
    generated = [
        b
        for b in bodies(calendar_tap.read(2, timeout=10))
        if b["event_type"] == "CalendarGenerated"
    ]
    assert calendar_titles(aws, generated[0]["data"]["key"]) == ["before"]


def test_include_completed_false_leaves_completed_todos_out(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "open", 1)
    create(todo_api, "closed", 2, completed=True)
    todo_api.calendars.request(OWNER, include_completed=False)
    deliver(make_worker(), todo_api.events())
    generated = [
        b
        for b in bodies(calendar_tap.read(2, timeout=10))
        if b["event_type"] == "CalendarGenerated"
    ]
    assert calendar_titles(aws, generated[0]["data"]["key"]) == ["open"]


def test_rebuild_from_the_feed_equals_the_projection_it_replaces(
    todo_api: TodoApi, make_worker: Callable[..., CalendarWorker], worker_engine: Engine
) -> None:
    ids = [create(todo_api, f"t{day}", day) for day in range(1, 8)]
    todo_api.todos.update(OWNER, UpdateTodo(ids[2], {"completed": True, "title": "renamed"}))
    worker = make_worker()
    deliver(worker, todo_api.events())

    def snapshot() -> list[tuple[Any, ...]]:
        with worker_engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(vevents).order_by(vevents.c.todo_id))]

    before = snapshot()
    reached = rebuild(worker_engine, worker._projection, OWNER)
    assert reached == len(todo_api.events())
    assert snapshot() == before


def test_an_unreachable_feed_is_retried_then_reported_as_a_failure(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "a", 1)
    job_id = todo_api.calendars.request(OWNER)
    request = todo_api.events()[-1]  # the worker has seen nothing: it must read the feed
    worker = make_worker(feed_url=f"http://127.0.0.1:{free_port()}", give_up_after_receives=3)
    with pytest.raises(FeedUnavailable):
        worker.render_calendar(request)  # first delivery: raise, so SQS redelivers it
    worker.render_calendar(_with_receive_count(request, 3))  # last attempt: report it
    published = bodies(calendar_tap.read(3, timeout=10, settle=0.5))
    failed = [b for b in published if b["event_type"] == "CalendarGenerationFailed"]
    assert len(failed) == 1
    assert failed[0]["data"]["job_id"] == job_id
    assert failed[0]["data"]["error"]["code"] == "projection_unavailable"
    validate_envelope(failed[0])
    assert json.dumps(failed[0])


def generated_key(tap: TopicTap) -> str:
    published = bodies(tap.read(2, timeout=10))
    [generated] = [b for b in published if b["event_type"] == "CalendarGenerated"]
    return str(generated["data"]["key"])


def _with_receive_count(event: DecodedEvent, count: int) -> DecodedEvent:
    from dataclasses import replace

    return replace(event, receive_count=count)


def test_the_live_feed_is_materialised_after_a_batch_of_changes(
    todo_api: TodoApi, make_worker: Callable[..., CalendarWorker], aws: AwsWorld
) -> None:
    from taskoverflow_events.calendar_keys import feed_key

    create(todo_api, "In the feed", 1)
    done = create(todo_api, "Done, still in the feed", 2)
    todo_api.todos.update(OWNER, UpdateTodo(done, {"completed": True}))
    worker = make_worker()
    events = todo_api.events()
    deliver(worker, events)
    worker.refresh_feeds(events)
    body = (
        aws.settings.client("s3")
        .get_object(Bucket=aws.topology.bucket, Key=feed_key(OWNER))["Body"]
        .read()
    )
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in body
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in body
    assert calendar_titles(aws, feed_key(OWNER)) == [
        "In the feed",
        "[done] Done, still in the feed",
    ]
