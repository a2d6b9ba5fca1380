"""The worker applies TodoChanged events to its projection once each and in sequence, filling
any gap from the feed, so that duplicates and reordering by SQS never show in a calendar."""

from collections.abc import Callable

from ical_worker.store.tables import owners, todo_versions
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine

from todo_api.domain.commands import UpdateTodo

from .conftest import OWNER, TodoApi, applied, create, current_bodies, deliver, projected


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
