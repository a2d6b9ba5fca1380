"""What a calendar request leaves in S3 and on the bus, against PostgreSQL, moto and a real
todo-api feed: a redelivered request must republish the same events, not render again."""

import hashlib
from collections.abc import Callable

from ical_worker.store.tables import rendered_jobs
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, func, select

from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.domain.commands import UpdateTodo

from .conftest import OWNER, TodoApi, calendar_titles, create, deliver


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
    # A standard topic promises no order, so the check does not depend on it.
    published = sorted(
        bodies(calendar_tap.read(3, timeout=10, settle=1.0)), key=lambda b: b["event_type"]
    )
    assert [b["event_type"] for b in published] == [
        "CalendarGenerated",
        "CalendarGenerated",
        "CalendarGenerationStarted",
    ]
    for body in published:
        validate_envelope(body)
        assert body["correlation_id"] == job_id
        assert body["causation_id"] == str(events[-1].envelope.event_id)
    assert published[0]["event_id"] == published[1]["event_id"], "a repeat, not a new event"
    generated = published[0]["data"]
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
