"""The worker against PostgreSQL, moto (SNS, S3) and a real todo-api event feed over HTTP."""

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import icalendar
import pytest
from ical_worker.feed import FeedUnavailable
from ical_worker.rebuild.__main__ import rebuild
from ical_worker.store.tables import owners, rendered_jobs, todo_versions
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import ProgrammingError

from taskoverflow_events import DecodedEvent, Envelope
from taskoverflow_events.publisher import Publisher
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


def test_a_run_applied_together_equals_the_events_applied_one_by_one(
    todo_api: TodoApi, make_worker: Callable[..., CalendarWorker], worker_engine: Engine
) -> None:
    first = create(todo_api, "a", 1)
    for day in range(2, 8):
        create(todo_api, f"t{day}", day)
    todo_api.todos.update(OWNER, UpdateTodo(first, {"title": "a, renamed"}))
    events = todo_api.events()  # 8 events
    worker = make_worker()
    worker.apply_todo_changes(events[:2])
    # A duplicate, the next one, then a gap in the middle of the run: 4 comes from the feed.
    worker.apply_todo_changes([events[1], events[2], events[4]])
    assert applied(worker_engine) == 5
    worker.apply_todo_changes(events[6:])  # a gap at the start: 6 comes from the feed
    worker.apply_todo_changes(events)  # all duplicates
    assert applied(worker_engine) == 8
    assert projected(worker_engine) == 7
    bodies_now = current_bodies(worker_engine)
    one_by_one = make_worker()
    with worker_engine.begin() as conn:
        conn.execute(todo_versions.delete())
        conn.execute(owners.delete())
    deliver(one_by_one, events)
    assert current_bodies(worker_engine) == bodies_now


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


class RecordingPublisher(Publisher):
    """The real publisher (to moto, over HTTP) that also remembers what each call carried."""

    def __init__(self, aws: AwsWorld) -> None:
        super().__init__(aws.settings.client("sns"), aws.topic_arn("calendar-events"))
        self.calls: list[list[str]] = []

    def publish_all(self, envelopes: Sequence[Envelope]) -> None:
        self.calls.append([e.event_type for e in envelopes])
        super().publish_all(envelopes)


def test_a_quick_render_sends_its_started_in_the_outcomes_publish(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    todo_api.calendars.request(OWNER)
    publisher = RecordingPublisher(aws)
    deliver(make_worker(publisher=publisher, announce_after_seconds=30), todo_api.events())
    assert publisher.calls == [["CalendarGenerationStarted", "CalendarGenerated"]]
    by_type = {b["event_type"]: b for b in bodies(calendar_tap.read(2, timeout=10))}
    assert sorted(by_type) == ["CalendarGenerated", "CalendarGenerationStarted"]
    started, generated = by_type["CalendarGenerationStarted"], by_type["CalendarGenerated"]
    assert started["occurred_at"] <= generated["occurred_at"], "stamped when the render began"


def test_a_slow_render_announces_started_on_its_own_while_it_runs(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    job_id = todo_api.calendars.request(OWNER)
    publisher = RecordingPublisher(aws)
    worker = make_worker(publisher=publisher, announce_after_seconds=0.2)
    worker.apply_todo_changes(todo_api.events()[:1])
    request = todo_api.events()[-1]
    with worker_engine.connect() as blocker:
        # The worker writes the object, then waits here to record the job: a slow render.
        blocker.execute(text("LOCK TABLE rendered_jobs IN SHARE MODE"))
        rendering = threading.Thread(target=worker.render_calendar, args=(request,))
        rendering.start()
        [started] = bodies(calendar_tap.read(1, timeout=10))
        assert started["event_type"] == "CalendarGenerationStarted"
        assert started["data"]["job_id"] == job_id
        assert rendering.is_alive(), "announced while the render was still going"
        blocker.rollback()
    rendering.join(timeout=10)
    [generated] = bodies(calendar_tap.read(1, timeout=10, settle=0.5))
    assert generated["event_type"] == "CalendarGenerated"
    assert publisher.calls == [["CalendarGenerationStarted"], ["CalendarGenerated"]]


def test_requests_that_arrive_together_share_one_render_per_set_of_options(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    create(todo_api, "Done already", 2, completed=True)
    worker = make_worker()
    worker.apply_todo_changes(todo_api.events())
    jobs = [
        todo_api.calendars.request(OWNER, include_completed=n != 2, callback_url=f"http://h/{n}")
        for n in range(4)
    ]
    requests = todo_api.events()[2:]
    worker.render_calendars(requests)

    published = bodies(calendar_tap.read(8, timeout=10, settle=1.0))
    started = [
        b["data"]["job_id"] for b in published if b["event_type"] == "CalendarGenerationStarted"
    ]
    generated = {
        b["data"]["job_id"]: b for b in published if b["event_type"] == "CalendarGenerated"
    }
    assert sorted(started) == sorted(jobs)
    assert sorted(generated) == sorted(jobs)
    for n, job_id in enumerate(jobs):
        body = generated[job_id]
        validate_envelope(body)
        assert body["correlation_id"] == job_id
        assert body["causation_id"] == str(requests[n].envelope.event_id)
        assert body["data"]["notify"] == f"http://h/{n}"
    keys = {job_id: generated[job_id]["data"]["key"] for job_id in jobs}
    assert keys[jobs[0]] == keys[jobs[1]] == keys[jobs[3]] != keys[jobs[2]]
    assert calendar_titles(aws, keys[jobs[0]]) == ["Pay rent", "[done] Done already"]
    assert calendar_titles(aws, keys[jobs[2]]) == ["Pay rent"]
    listed = aws.settings.client("s3").list_objects_v2(
        Bucket=aws.topology.bucket, Prefix=f"calendars/{OWNER}/"
    )
    assert len(listed["Contents"]) == 2, "one object per set of options"
    with worker_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rendered_jobs)).scalar_one() == 4
    assert applied(worker_engine) == requests[-1].envelope.sequence


def test_requests_with_a_write_between_them_are_rendered_each_as_of_its_own_point(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "first", 1)
    early = todo_api.calendars.request(OWNER)
    create(todo_api, "second", 2)
    late = todo_api.calendars.request(OWNER)
    events = todo_api.events()
    worker = make_worker()
    worker.apply_todo_changes(events[:1])
    # The run skips the write between the requests (it reached the worker apart): not together.
    worker.render_calendars([events[1], events[3]])
    generated = {
        b["data"]["job_id"]: b["data"]["key"]
        for b in bodies(calendar_tap.read(4, timeout=10, settle=1.0))
        if b["event_type"] == "CalendarGenerated"
    }
    assert calendar_titles(aws, generated[early]) == ["first"]
    assert calendar_titles(aws, generated[late]) == ["first", "second"]


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
            current = select(todo_versions).where(todo_versions.c.valid_to.is_(None))
            return [tuple(r) for r in conn.execute(current.order_by(todo_versions.c.todo_id))]

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


def test_any_failure_on_the_last_attempt_ends_the_job_with_a_reason(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    calendar_tap: TopicTap,
    worker_engine: Engine,
) -> None:
    create(todo_api, "a", 1)
    job_id = todo_api.calendars.request(OWNER)
    request = todo_api.events()[-1]
    worker = make_worker(give_up_after_receives=3)
    with worker_engine.begin() as conn:  # a bug, not an outage: the worker's own table is gone
        conn.execute(text("ALTER TABLE rendered_jobs RENAME TO rendered_jobs_elsewhere"))
    with pytest.raises(ProgrammingError):
        worker.render_calendar(request)  # not yet the last attempt: SQS will redeliver it
    worker.render_calendar(_with_receive_count(request, 3))
    published = bodies(calendar_tap.read(1, timeout=10, settle=0.5))
    [failed] = [b for b in published if b["event_type"] == "CalendarGenerationFailed"]
    assert failed["data"]["job_id"] == job_id
    assert failed["data"]["error"]["code"] == "internal_error"
    assert "rendered_jobs" in failed["data"]["error"]["message"]


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


def test_a_rebuild_brings_over_the_owners_of_the_previous_projections_tables(
    todo_api: TodoApi, make_worker: Callable[..., CalendarWorker], worker_engine: Engine
) -> None:
    from ical_worker.rebuild.__main__ import known_owners

    create(todo_api, "quiet since long ago", 1)
    with worker_engine.begin() as conn:  # the table a worker of the previous release kept
        conn.execute(text("CREATE TABLE owners (owner varchar PRIMARY KEY, applied_sequence int)"))
        conn.execute(text("INSERT INTO owners VALUES ('default', 1)"))
    assert known_owners(worker_engine) == [OWNER]
    worker = make_worker()
    assert rebuild(worker_engine, worker._projection, OWNER) == 1
    assert projected(worker_engine) == 1
