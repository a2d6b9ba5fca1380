"""What a caller asks of the todo service, already validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CreateTodo:
    title: str
    description: str | None = None
    completed: bool = False
    deadline_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UpdateTodo:
    todo_id: int
    changes: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class DeleteTodo:
    todo_id: int
    expected_version: int | None = None


Command = CreateTodo | UpdateTodo | DeleteTodo
