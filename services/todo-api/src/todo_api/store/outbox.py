"""The events table seen as the outbox: what the relay still owes SNS, owner by owner.

Selected by `published_at IS NULL`, never by "position > the last one published": a row with a
lower position that commits late is still unpublished, so it is picked up on the next pass.
Owners are found with a loose index scan (one index probe per owner, however many events each
has waiting), so a pass costs the same whether one owner has ten events waiting or a million,
and the relay can take owners in turns rather than in one global order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, TextClause, func, select, text, update

from taskoverflow_events.transport import OWN_GROUP_EVENT_TYPES
from todo_api.store.tables import UNPUBLISHED_REQUESTS, events


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An outbox row: enough to publish it verbatim and to mark it done."""

    position: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    owner: str
    sequence: int
    body: str


STORED_COLUMNS = (
    events.c.position,
    events.c.event_id,
    events.c.event_type,
    events.c.schema_version,
    events.c.owner,
    events.c.sequence,
    events.c.body,
)


# Each step asks a partial index for the next owner name: the database's min() over an index is
# one probe, so owners with huge backlogs cost no more. Over every unpublished event the index is
# ix_events_unpublished_owner; over calendar requests only, ix_events_unpublished_requests.
def _pending_owners_query(where: str) -> TextClause:
    return text(
        f"""
        WITH RECURSIVE pending(owner, n) AS (
            SELECT (SELECT min(owner) FROM events WHERE {where} AND owner > :after), 1
            UNION ALL
            SELECT (SELECT min(e.owner) FROM events e WHERE {where} AND e.owner > pending.owner),
                   pending.n + 1
            FROM pending WHERE pending.owner IS NOT NULL AND pending.n < :limit
        )
        SELECT owner FROM pending WHERE owner IS NOT NULL
        """
    )


_PENDING_OWNERS = _pending_owners_query("published_at IS NULL")
_REQUESTING_OWNERS = _pending_owners_query(str(UNPUBLISHED_REQUESTS))


def stored_event(row: Row[Any]) -> StoredEvent:
    return StoredEvent(
        position=row.position,
        event_id=uuid.UUID(row.event_id),
        event_type=row.event_type,
        schema_version=row.schema_version,
        owner=row.owner,
        sequence=row.sequence,
        body=row.body,
    )


def pending_owners(
    conn: Connection, *, after: str, limit: int, requests_only: bool = False
) -> list[str]:
    """Up to `limit` owners with unpublished events (with `requests_only`, unpublished calendar
    requests), in name order after `after`, wrapping round to the first names when the end is
    reached: successive calls take owners in turns."""
    if limit <= 0:
        return []
    query = _REQUESTING_OWNERS if requests_only else _PENDING_OWNERS
    found = [r.owner for r in conn.execute(query, {"after": after, "limit": limit})]
    if len(found) < limit and after:
        # Every owner after `after` is in `found` already, so whatever else the wrapped scan
        # meets comes at or before it. (Compared by the database, never in Python: the two need
        # not share a collation.)
        wrapped = conn.execute(query, {"after": "", "limit": limit})
        found += [r.owner for r in wrapped if r.owner not in found][: limit - len(found)]
    return found


def owner_requests(conn: Connection, owner: str, limit: int) -> list[StoredEvent]:
    """Up to `limit` of an owner's unpublished calendar requests, in the stream's order."""
    return [
        stored_event(r)
        for r in conn.execute(
            select(*STORED_COLUMNS)
            .where(events.c.owner == owner, UNPUBLISHED_REQUESTS)
            .order_by(events.c.sequence)
            .limit(limit)
        )
    ]


def owner_pending(conn: Connection, owner: str, limit: int) -> list[StoredEvent]:
    """Up to `limit` of an owner's unpublished events: its calendar requests first, then its
    oldest changes, each in the stream's order. A request travels in a FIFO group of its own and
    the worker renders it at its as_of wherever the projection stands (ADR 8), so it need not
    wait behind the owner's changes here either: after an outage, the owner's calendar goes out
    in the relay's first pass, not after the owner's whole backlog."""
    unpublished = (events.c.owner == owner, events.c.published_at.is_(None))
    requests = owner_requests(conn, owner, limit)
    oldest = conn.execute(
        select(*STORED_COLUMNS).where(*unpublished).order_by(events.c.sequence).limit(limit)
    )
    ahead = {r.event_id for r in requests}
    rest = [e for e in map(stored_event, oldest) if e.event_id not in ahead]
    return (requests + rest)[:limit]


def has_unpublished_changes(conn: Connection) -> bool:
    """Whether any event other than a calendar request waits to be published."""
    first = conn.execute(
        select(events.c.position)
        .where(events.c.published_at.is_(None), events.c.event_type.not_in(OWN_GROUP_EVENT_TYPES))
        .limit(1)
    ).first()
    return first is not None


def mark_published(conn: Connection, event_ids: Sequence[uuid.UUID]) -> None:
    if not event_ids:
        return
    conn.execute(
        update(events)
        .where(events.c.event_id.in_([str(e) for e in event_ids]))
        .values(published_at=func.now())
    )


def unpublished_count(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(events).where(events.c.published_at.is_(None))
        ).scalar_one()
    )


# How long ago the oldest unpublished event was written, on the database's clock: the relay's
# host clock plays no part (occurred_at is stored as naive UTC).
_OLDEST_AGE = {
    "postgresql": "extract(epoch FROM (timezone('UTC', clock_timestamp()) - occurred_at))",
    "sqlite": "(julianday('now') - julianday(occurred_at)) * 86400.0",
}


def oldest_unpublished_age(conn: Connection) -> float | None:
    """Seconds since the oldest event still owed to SNS was written (by insert order), or None."""
    age = _OLDEST_AGE["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    value = conn.execute(
        text(f"SELECT {age} FROM events WHERE published_at IS NULL ORDER BY position LIMIT 1")
    ).scalar()
    return None if value is None else max(0.0, float(value))
