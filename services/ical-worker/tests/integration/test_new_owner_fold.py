"""An owner new to the projection (after a deploy that changed its shape, every owner) is
folded from its whole feed with no lock and no transaction open: only the result is written
under the owner's lock. Read inside the transaction, a long history would hold the owner's row
for as long as todo-api takes to serve it, and the worker's idle-in-transaction timeout would
end the fold every time it was tried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from taskoverflow_events import DecodedEvent
from todo_api.domain.commands import CreateTodo

from .conftest import OWNER, TodoApi, applied, projected


class ProbingFeed(FeedClient):
    """todo-api's real feed; at each event it reads, `probe` runs from outside the fold."""

    def __init__(self, url: str, probe: Callable[[], None]) -> None:
        super().__init__(url, timeout=5)
        self._probe = probe

    def events(self, owner: str, *, after: int, until: int | None = None) -> Iterator[Any]:
        for event in super().events(owner, after=after, until=until):
            self._probe()
            yield event


def write(todo_api: TodoApi, count: int) -> list[DecodedEvent]:
    for day in range(1, count + 1):
        deadline = datetime(2026, 12, day, 9)
        todo_api.todos.create(OWNER, CreateTodo(title=f"t{day}", deadline_at=deadline))
    return todo_api.events()


def owner_lockable(engine: Engine) -> bool:
    """Whether another transaction could take the owner's projection lock right now."""
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '200ms'"))
        try:
            Projection(FeedClient("http://127.0.0.1:9", timeout=1)).lock(conn, OWNER)
            return True
        except OperationalError:
            return False
        finally:
            conn.rollback()


def test_a_new_owner_is_folded_with_its_lock_free_throughout(
    todo_api: TodoApi, worker_engine: Engine
) -> None:
    events = write(todo_api, 12)
    seen: list[bool] = []
    projection = Projection(
        ProbingFeed(todo_api.url, lambda: seen.append(owner_lockable(worker_engine)))
    )

    projection.read_ahead(worker_engine, OWNER, until=len(events))

    assert len(seen) == len(events), "the probe ran at every event the fold read"
    assert all(seen), f"the owner's lock was held during {seen.count(False)} of the reads"
    assert applied(worker_engine) == len(events)
    assert projected(worker_engine) == 12


def test_an_owner_begun_by_another_loop_during_the_fold_is_read_on_from_there(
    todo_api: TodoApi, worker_engine: Engine
) -> None:
    events = write(todo_api, 8)
    plain = Projection(FeedClient(todo_api.url, timeout=5))
    meddled: list[int] = []

    def another_loop_applies_the_first_change() -> None:
        if not meddled:
            meddled.append(1)
            with worker_engine.begin() as conn:
                plain.advance_many(conn, events[:1])

    Projection(ProbingFeed(todo_api.url, another_loop_applies_the_first_change)).read_ahead(
        worker_engine, OWNER, until=len(events)
    )

    assert meddled == [1]
    assert applied(worker_engine) == len(events)
    assert projected(worker_engine) == 8
    # Read on a page at a time from where the other loop left it, every change with its version:
    # the history still starts at 0. Installing the fold over it would have moved it to 8.
    with worker_engine.connect() as conn:
        assert Projection(FeedClient(todo_api.url)).history_from(conn, OWNER) == 0
