"""Versions of each todo's VEVENT, so a calendar can be rendered at any recent point of an
owner's stream, not only at the projection's latest (ADR 8).

A change at sequence S closes the todo's current version (valid_to = S) and, unless the todo
is gone or has no deadline, opens one from S. A calendar at sequence A is then the versions with
valid_from <= A < valid_to. Every change keeps its own version (no folding), so no point the
history covers is skipped. Closed versions are pruned after a while; an owner's `history_from`
says from which sequence on its versions are whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select, update

from ical_worker.render import render_vevent
from ical_worker.store.tables import owners, todo_versions
from taskoverflow_events.schemas.todo_changed import TodoChangedV1


@dataclass(frozen=True, slots=True)
class Change:
    """A todo change at its place in the owner's stream."""

    sequence: int
    payload: TodoChangedV1


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _version(owner: str, change: Change) -> dict[str, Any] | None:
    """The VEVENT version a change opens, or None (the todo is gone, or has no deadline)."""
    if change.payload.change == "deleted":
        return None
    body = render_vevent(owner, change.payload.todo)
    if body is None:
        return None
    return {
        "owner": owner,
        "todo_id": change.payload.todo.id,
        "valid_from": change.sequence,
        "valid_to": None,
        "closed_at": None,
        "completed": change.payload.todo.completed,
        "deadline_at": change.payload.todo.deadline_at,
        "body": body,
    }


def apply(conn: Connection, owner: str, changes: Sequence[Change]) -> None:
    """Apply changes in sequence order: one UPDATE for the versions they close and one
    multi-row INSERT for those they open, however many changes there are."""
    now = _now()
    opened: dict[int, dict[str, Any]] = {}  # todo id -> its version opened in this call
    closes: dict[int, int] = {}  # todo id -> the sequence closing its version in the database
    rows: list[dict[str, Any]] = []
    for change in changes:
        todo_id = change.payload.todo.id
        if todo_id in opened:
            opened.pop(todo_id).update(valid_to=change.sequence, closed_at=now)
        elif todo_id not in closes:
            closes[todo_id] = change.sequence
        version = _version(owner, change)
        if version is not None:
            rows.append(version)
            opened[todo_id] = version
    if closes:
        conn.execute(
            update(todo_versions)
            .where(
                todo_versions.c.owner == owner,
                todo_versions.c.todo_id == bindparam("t"),
                todo_versions.c.valid_to.is_(None),
            )
            .values(valid_to=bindparam("s"), closed_at=now),
            [{"t": todo_id, "s": sequence} for todo_id, sequence in closes.items()],
        )
    if rows:
        conn.execute(todo_versions.insert(), rows)


def replace_all(conn: Connection, owner: str, latest: Sequence[Change]) -> None:
    """Each todo's last known state, written over whatever the owner had (a rebuild, or a
    catch-up of many events at once): only current versions, so the history starts afresh at
    the caller's new applied sequence (set history_from to it)."""
    ids = [c.payload.todo.id for c in latest]
    if not ids:
        return
    conn.execute(
        delete(todo_versions).where(
            todo_versions.c.owner == owner, todo_versions.c.todo_id.in_(ids)
        )
    )
    rows = [v for v in (_version(owner, c) for c in latest) if v is not None]
    if rows:
        conn.execute(todo_versions.insert(), rows)


def reset(conn: Connection, owner: str) -> None:
    conn.execute(delete(todo_versions).where(todo_versions.c.owner == owner))


def current_bodies(conn: Connection, owner: str, *, include_completed: bool) -> Iterator[str]:
    """The owner's VEVENT texts as they stand, in deadline order, streamed from the database."""
    stmt = select(todo_versions.c.body).where(
        todo_versions.c.owner == owner, todo_versions.c.valid_to.is_(None)
    )
    yield from _ordered(conn, stmt, include_completed)


def bodies_at(
    conn: Connection, owner: str, sequence: int, *, include_completed: bool
) -> Iterator[str]:
    """The owner's VEVENT texts as they stood at `sequence` (within its history)."""
    stmt = select(todo_versions.c.body).where(
        todo_versions.c.owner == owner,
        todo_versions.c.valid_from <= sequence,
        or_(todo_versions.c.valid_to.is_(None), todo_versions.c.valid_to > sequence),
    )
    yield from _ordered(conn, stmt, include_completed)


def _ordered(conn: Connection, stmt: Any, include_completed: bool) -> Iterator[str]:
    if not include_completed:
        stmt = stmt.where(todo_versions.c.completed.is_(False))
    stmt = stmt.order_by(todo_versions.c.deadline_at, todo_versions.c.todo_id)
    for (body,) in conn.execute(stmt.execution_options(yield_per=1000)):
        yield body


def owners_with_old_versions(conn: Connection, *, closed_before: datetime, limit: int) -> list[str]:
    rows = conn.execute(
        select(todo_versions.c.owner)
        .where(todo_versions.c.closed_at < closed_before)
        .group_by(todo_versions.c.owner)
        .limit(limit)
    )
    return [r.owner for r in rows]


def prune_owner(conn: Connection, owner: str, *, closed_before: datetime) -> int | None:
    """Delete the owner's versions closed before `closed_before` and move its history_from past
    them, so no calendar is rendered from a history with holes; None (and nothing done) when
    the owner is locked right now (a render or a change in hand): it is pruned another time,
    and no owner waits for pruning."""
    locked = owners.select().where(owners.c.owner == owner).with_for_update(skip_locked=True)
    if conn.dialect.name == "postgresql" and conn.execute(locked).first() is None:
        return None
    doomed = conn.execute(
        delete(todo_versions)
        .where(todo_versions.c.owner == owner, todo_versions.c.closed_at < closed_before)
        .returning(todo_versions.c.valid_to)
    ).all()
    if doomed:
        reached = max(int(r.valid_to) for r in doomed)
        conn.execute(
            update(owners)
            .where(owners.c.owner == owner, owners.c.history_from < reached)
            .values(history_from=reached)
        )
    return len(doomed)
