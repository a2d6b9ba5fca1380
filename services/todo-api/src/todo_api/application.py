"""The todo use cases: each write is one transaction that decides, appends and updates the read
model together, so the API can never show a change that has no event, or the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from taskoverflow_events.schemas.todo_changed import TodoChangedV1
from todo_api.domain.commands import CreateTodo, DeleteTodo, UpdateTodo
from todo_api.domain.errors import TodoNotFound
from todo_api.domain.todo import Todo, decide, evolve
from todo_api.store import event_store, read_model

Clock = Callable[[], datetime]

# A unique-key clash on a brand-new owner's stream row, or a serialisation failure, is retried.
WRITE_ATTEMPTS = 3


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class TodoApplication:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    @property
    def clock(self) -> Clock:
        """The application's time (naive UTC), which the web process's limits keep too."""
        return self._clock

    # -- writes ----------------------------------------------------------------------------

    def create(
        self,
        owner: str,
        command: CreateTodo,
        *,
        correlation_id: str | None = None,
        also: Callable[[Connection, Todo], None] | None = None,
    ) -> Todo:
        """`also` runs in the same transaction with the new todo (an idempotency answer, say),
        so the two commit together or not at all."""

        def write() -> Todo:
            with self.engine.begin() as conn:
                new_id = read_model.allocate_id(conn)
                changes = decide(command, None, now=self._clock(), new_id=new_id)
                todo: Todo = self._record(conn, owner, None, changes, correlation_id)  # type: ignore[assignment]
                if also is not None:
                    also(conn, todo)
                return todo

        return _retrying(write)

    def update(self, owner: str, command: UpdateTodo, *, correlation_id: str | None = None) -> Todo:
        def write() -> Todo:
            with self.engine.begin() as conn:
                current = read_model.get(conn, owner, command.todo_id, for_update=True)
                changes = decide(command, current, now=self._clock())
                if not changes:
                    assert current is not None
                    return current
                return self._record(conn, owner, current, changes, correlation_id)  # type: ignore[return-value]

        return _retrying(write)

    def delete(self, owner: str, command: DeleteTodo, *, correlation_id: str | None = None) -> Todo:
        """Returns the todo's last state, which the contract echoes back."""

        def write() -> Todo:
            with self.engine.begin() as conn:
                current = read_model.get(conn, owner, command.todo_id, for_update=True)
                changes = decide(command, current, now=self._clock())
                self._record(conn, owner, current, changes, correlation_id)
                assert current is not None
                return current

        return _retrying(write)

    def _record(
        self,
        conn: Connection,
        owner: str,
        current: Todo | None,
        changes: list[TodoChangedV1],
        correlation_id: str | None,
    ) -> Todo | None:
        todo_id = changes[0].todo.id
        event_store.append(conn, owner, changes, correlation_id=correlation_id, todo_id=todo_id)
        state = current
        for change in changes:
            state = evolve(state, change)
        read_model.apply(conn, owner, current, state)
        return state

    # -- reads -----------------------------------------------------------------------------

    def get(self, owner: str, todo_id: int) -> Todo:
        with self.engine.connect() as conn:
            todo = read_model.get(conn, owner, todo_id)
        if todo is None:
            raise TodoNotFound(todo_id)
        return todo

    def list(
        self, owner: str, *, completed: bool | None = None, window_days: int | None = None
    ) -> list[Todo]:
        deadline_before = None
        if window_days is not None:
            deadline_before = self._clock() + timedelta(days=window_days)
        with self.engine.connect() as conn:
            return read_model.list_todos(
                conn, owner, completed=completed, deadline_before=deadline_before
            )

    def history(self, owner: str, todo_id: int) -> list[str]:
        with self.engine.connect() as conn:
            bodies = event_store.todo_events(conn, owner, todo_id)
        if not bodies:
            raise TodoNotFound(todo_id)
        return bodies

    def feed(self, owner: str, *, after: int, limit: int) -> tuple[list[tuple[int, str]], int]:
        """A page of the owner's events and the owner's current stream version."""
        with self.engine.connect() as conn:
            return (
                event_store.owner_events(conn, owner, after=after, limit=limit),
                event_store.stream_version(conn, owner),
            )


T = TypeVar("T")


def _retrying(write: Callable[[], T]) -> T:
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return write()
        except (IntegrityError, OperationalError) as exc:
            if attempt == WRITE_ATTEMPTS or not _is_retryable(exc):
                raise
    raise AssertionError("unreachable")


def _is_retryable(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        marker in text
        for marker in ("unique", "duplicate key", "could not serialize", "deadlock", "locked")
    )
