"""A todo's rules as decide/evolve: `decide` turns a command and the current state into the
change to record; `evolve` applies a recorded change to state. The store calls both inside one
transaction, and the read model is whatever `evolve` says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from taskoverflow_events.schemas.todo_changed import TodoChangedV1, TodoV1
from todo_api.domain.commands import Command, CreateTodo, DeleteTodo, UpdateTodo
from todo_api.domain.errors import TodoNotFound, VersionMismatch

MUTABLE_FIELDS = ("title", "description", "completed", "deadline_at")


@dataclass(frozen=True, slots=True)
class Todo:
    id: int
    title: str
    description: str | None
    completed: bool
    deadline_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    def to_event_model(self) -> TodoV1:
        return TodoV1(
            id=self.id,
            title=self.title,
            description=self.description,
            completed=self.completed,
            deadline_at=self.deadline_at,
            created_at=self.created_at,
            updated_at=self.updated_at,
            version=self.version,
        )

    @classmethod
    def from_event_model(cls, todo: TodoV1) -> Todo:
        return cls(
            id=todo.id,
            title=todo.title,
            description=todo.description,
            completed=todo.completed,
            deadline_at=todo.deadline_at,
            created_at=todo.created_at,
            updated_at=todo.updated_at,
            version=todo.version,
        )


def decide(
    command: Command, current: Todo | None, *, now: datetime, new_id: int | None = None
) -> list[TodoChangedV1]:
    """The changes a command causes; an empty list when it changes nothing."""
    now = now.replace(microsecond=0, tzinfo=None)
    if isinstance(command, CreateTodo):
        if new_id is None:
            raise ValueError("creating a todo needs the id the store allocated")
        todo = Todo(
            id=new_id,
            title=command.title,
            description=command.description,
            completed=command.completed,
            deadline_at=command.deadline_at,
            created_at=now,
            updated_at=now,
            version=1,
        )
        return [TodoChangedV1(change="created", todo=todo.to_event_model())]
    if current is None:
        raise TodoNotFound(command.todo_id)
    if command.expected_version is not None and command.expected_version != current.version:
        raise VersionMismatch(current.id, command.expected_version, current.version)
    if isinstance(command, DeleteTodo):
        return [TodoChangedV1(change="deleted", todo=current.to_event_model())]
    assert isinstance(command, UpdateTodo)
    changes = {k: v for k, v in command.changes.items() if getattr(current, k) != v}
    unknown = set(changes) - set(MUTABLE_FIELDS)
    if unknown:
        raise ValueError(f"fields {sorted(unknown)} cannot be changed")
    if not changes:
        return []
    updated = replace(current, **changes, updated_at=now, version=current.version + 1)
    return [TodoChangedV1(change="updated", todo=updated.to_event_model())]


def evolve(current: Todo | None, event: TodoChangedV1) -> Todo | None:
    if event.change == "deleted":
        return None
    return Todo.from_event_model(event.todo)
