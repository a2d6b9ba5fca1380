"""A rebuild from the feed is how a projection is replaced, so it must equal the one it
replaces and must find the owners a previous release kept in its own tables."""

from collections.abc import Callable
from typing import Any

from ical_worker.rebuild.__main__ import rebuild
from ical_worker.store.tables import todo_versions
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, select, text

from todo_api.domain.commands import UpdateTodo

from .conftest import OWNER, TodoApi, create, deliver, projected


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
