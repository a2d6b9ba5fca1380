"""The contract's todo JSON and ETags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from todo_api.api.requests import TIMESTAMP_FORMAT
from todo_api.domain.todo import Todo


def stamp(value: datetime | None) -> str | None:
    return value.strftime(TIMESTAMP_FORMAT) if value is not None else None


def todo_json(todo: Todo) -> dict[str, Any]:
    return {
        "id": todo.id,
        "title": todo.title,
        "description": todo.description,
        "completed": todo.completed,
        "deadline_at": stamp(todo.deadline_at),
        "created_at": stamp(todo.created_at),
        "updated_at": stamp(todo.updated_at),
    }


def etag_for(todo: Todo) -> str:
    return f"todo-{todo.id}-v{todo.version}"
