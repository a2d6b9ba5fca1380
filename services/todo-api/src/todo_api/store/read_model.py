"""The todos table the API reads from, kept equal to the fold of the event stream.

Only `apply` writes it, from the same change that was appended, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from todo_api.domain.todo import Todo
from todo_api.store.tables import todo_ids, todos

_COLUMNS = (
    todos.c.id,
    todos.c.title,
    todos.c.description,
    todos.c.completed,
    todos.c.deadline_at,
    todos.c.created_at,
    todos.c.updated_at,
    todos.c.version,
)


def allocate_id(conn: Connection) -> int:
    """A new todo id, never reused (even after a delete) and never blocking other writers."""
    return int(conn.execute(insert(todo_ids).returning(todo_ids.c.id)).scalar_one())


def get(conn: Connection, owner: str, todo_id: int, *, for_update: bool = False) -> Todo | None:
    stmt = select(*_COLUMNS).where(todos.c.owner == owner, todos.c.id == todo_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return _to_todo(row) if row else None


def list_todos(
    conn: Connection,
    owner: str,
    *,
    completed: bool | None = None,
    deadline_before: datetime | None = None,
) -> list[Todo]:
    stmt = select(*_COLUMNS).where(todos.c.owner == owner)
    if completed is not None:
        stmt = stmt.where(todos.c.completed.is_(completed))
    if deadline_before is not None:
        stmt = stmt.where(todos.c.deadline_at.is_not(None), todos.c.deadline_at <= deadline_before)
    stmt = stmt.order_by(todos.c.created_at, todos.c.id)
    return [_to_todo(row) for row in conn.execute(stmt)]


def apply(conn: Connection, owner: str, before: Todo | None, after: Todo | None) -> None:
    if after is None:
        if before is not None:
            conn.execute(delete(todos).where(todos.c.owner == owner, todos.c.id == before.id))
        return
    values: dict[str, Any] = {
        "title": after.title,
        "description": after.description,
        "completed": after.completed,
        "deadline_at": after.deadline_at,
        "created_at": after.created_at,
        "updated_at": after.updated_at,
        "version": after.version,
    }
    if before is None:
        conn.execute(insert(todos).values(id=after.id, owner=owner, **values))
    else:
        conn.execute(
            update(todos).where(todos.c.owner == owner, todos.c.id == after.id).values(**values)
        )


def _to_todo(row: Row[Any]) -> Todo:
    return Todo(
        id=row.id,
        title=row.title,
        description=row.description,
        completed=bool(row.completed),
        deadline_at=row.deadline_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )
