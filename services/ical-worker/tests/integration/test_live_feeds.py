"""The live feed against PostgreSQL, moto (S3) and a real todo-api event feed: its state kept
durably, renders of one owner never going backwards, and a lost object rendered again."""

import threading
import time
from collections.abc import Callable
from typing import Any

import icalendar
import pytest
from ical_worker.storage import CalendarStore
from ical_worker.store.tables import feeds
from ical_worker.worker.calendar_worker import CalendarWorker
from ical_worker.worker.feed_refresher import FeedRefresher, FeedSweep, LiveFeeds
from sqlalchemy import Engine, select
from sqlalchemy.engine import RowMapping

from taskoverflow_events.calendar_keys import feed_key
from taskoverflow_testing.plugin import AwsWorld
from todo_api.domain.commands import UpdateTodo

from .conftest import OWNER, TodoApi, create, deliver


def feed_titles(aws: AwsWorld, owner: str = OWNER) -> list[str] | None:
    """The VEVENT summaries of the owner's feed in S3, or None when there is no object."""
    s3 = aws.settings.client("s3")
    try:
        body = s3.get_object(Bucket=aws.topology.bucket, Key=feed_key(owner))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return [str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]


def feed_row(engine: Engine, owner: str = OWNER) -> RowMapping | None:
    with engine.connect() as conn:
        return conn.execute(select(feeds).where(feeds.c.owner == owner)).mappings().first()


def live_feeds(engine: Engine, aws: AwsWorld, s3: Any = None, **options: Any) -> LiveFeeds:
    store = CalendarStore(s3 or aws.settings.client("s3"), aws.topology.bucket)
    return LiveFeeds(engine, store, **options)


def sweep(engine: Engine, aws: AwsWorld) -> FeedSweep:
    return FeedSweep(engine, aws.settings.client("s3"), aws.topology.bucket)


def test_a_change_is_recorded_due_with_the_projection_so_a_restart_writes_its_feed(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    worker_engine: Engine,
) -> None:
    create(todo_api, "Written after the crash", 1)
    deliver(make_worker(), todo_api.events())  # applied; the process dies before its feed
    row = feed_row(worker_engine)
    assert row is not None
    assert (row["wanted_sequence"], row["rendered_sequence"]) == (1, 0)
    assert row["due_at"] is not None
    assert feed_titles(aws) is None
    restarted = FeedRefresher(live_feeds(worker_engine, aws, interval=60), None).start()
    try:
        deadline = time.monotonic() + 10
        while feed_titles(aws) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        restarted.stop()
    assert feed_titles(aws) == ["Written after the crash"]
    row = feed_row(worker_engine)
    assert row is not None
    assert (row["rendered_sequence"], row["due_at"]) == (1, None)


class HeldPuts:
    """An S3 client whose puts wait until `release` is set (bounded), after saying so."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.entered = threading.Event()
        self.release = threading.Event()

    def put_object(self, **kwargs: Any) -> Any:
        self.entered.set()
        if not self.release.wait(30):
            raise TimeoutError("the test never released this put")
        return self._s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def test_an_older_render_that_uploads_slowly_never_overwrites_a_newer_one(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    worker_engine: Engine,
) -> None:
    create(todo_api, "First", 1)
    worker = make_worker()
    deliver(worker, todo_api.events())
    held = HeldPuts(aws.settings.client("s3"))
    slow = live_feeds(worker_engine, aws, s3=held)
    sequences: dict[str, int | None] = {}
    older = threading.Thread(target=lambda: sequences.update(older=slow.refresh(OWNER)))
    older.start()
    try:
        assert held.entered.wait(10), "the older render reached S3"
        create(todo_api, "Second", 2)
        started = time.monotonic()
        deliver(worker, todo_api.events()[-1:])
        assert time.monotonic() - started < 5, "a render in flight must not hold up the consumer"
        newer = threading.Thread(target=lambda: sequences.update(newer=worker.refresh_feed(OWNER)))
        newer.start()
        newer.join(1.0)  # unserialised, the newer render would be written by now
    finally:
        held.release.set()
    older.join(30)
    newer.join(30)
    assert not older.is_alive()
    assert not newer.is_alive()
    assert feed_titles(aws) == ["First", "Second"]
    assert sequences == {"older": 1, "newer": 2}
    row = feed_row(worker_engine)
    assert row is not None
    assert (row["rendered_sequence"], row["due_at"]) == (2, None)


def test_a_feed_object_deleted_from_s3_comes_back_with_every_todo_after_a_sweep(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    worker_engine: Engine,
) -> None:
    create(todo_api, "Open", 1)
    done = create(todo_api, "Done", 2)
    todo_api.todos.update(OWNER, UpdateTodo(done, {"completed": True}))
    worker = make_worker()
    events = todo_api.events()
    deliver(worker, events)
    worker.refresh_feeds(events)
    assert feed_titles(aws) == ["Open", "[done] Done"]
    refresher = FeedRefresher(
        live_feeds(worker_engine, aws, interval=3600), sweep(worker_engine, aws)
    )
    assert refresher.run_once() == 0, "present and up to date: nothing to write"
    aws.settings.client("s3").delete_object(Bucket=aws.topology.bucket, Key=feed_key(OWNER))
    refresher = FeedRefresher(
        live_feeds(worker_engine, aws, interval=3600), sweep(worker_engine, aws)
    )
    assert refresher.run_once() == 1, "missing: written again at once, past the throttle"
    assert feed_titles(aws) == ["Open", "[done] Done"]


def test_a_feed_is_rewritten_at_most_once_per_interval(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    worker_engine: Engine,
) -> None:
    worker = make_worker()
    create(todo_api, "First", 1)
    deliver(worker, todo_api.events())
    refresher = FeedRefresher(live_feeds(worker_engine, aws, interval=3600), None)
    assert refresher.run_once() == 1
    create(todo_api, "Second", 2)
    deliver(worker, todo_api.events()[-1:])
    assert refresher.run_once() == 0, "written moments ago: its next turn is an interval away"
    assert feed_titles(aws) == ["First"]
    refresher.stop()  # what is due is written on the way out
    assert feed_titles(aws) == ["First", "Second"]


def test_a_calendar_request_gives_a_new_owner_a_feed_but_rewrites_no_current_one(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    worker_engine: Engine,
) -> None:
    worker = make_worker()
    todo_api.calendars.request(OWNER)  # anything written makes todo-api expect a feed
    deliver(worker, todo_api.events())
    refresher = FeedRefresher(live_feeds(worker_engine, aws), None)
    assert refresher.run_once() == 1
    assert feed_titles(aws) == []
    create(todo_api, "A todo", 1)
    deliver(worker, todo_api.events()[-1:])
    assert refresher.run_once() == 1
    todo_api.calendars.request(OWNER)
    deliver(worker, todo_api.events()[-1:])
    row = feed_row(worker_engine)
    assert row is not None
    assert (row["wanted_sequence"], row["rendered_sequence"], row["due_at"]) == (2, 2, None)
    assert refresher.run_once() == 0, "a calendar request changes no todo"


@pytest.mark.parametrize("owner", ["a/b c", "ünïcode"])
def test_the_sweep_finds_owners_whose_keys_are_quoted(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    worker_engine: Engine,
    owner: str,
) -> None:
    from datetime import datetime

    from todo_api.domain.commands import CreateTodo

    todo_api.todos.create(owner, CreateTodo(title="t", deadline_at=datetime(2026, 12, 1, 9)))
    deliver(make_worker(), todo_api.events(owner))
    assert sweep(worker_engine, aws).run() == [owner]
    live_feeds(worker_engine, aws).refresh(owner)
    assert sweep(worker_engine, aws).run() == []
    assert feed_titles(aws, owner) == ["t"]
