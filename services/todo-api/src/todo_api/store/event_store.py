"""Append envelopes to an owner's stream, and read them back by owner or todo (the outbox's view
of the same table is outbox.py).

Appending takes the owner's stream row with an upsert that returns the new version, which in
PostgreSQL holds that row's lock until commit: an owner's writers queue up, each gets the next
sequence, and their events commit in sequence order. The unique (owner, sequence) backs this up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Connection, select

from taskoverflow_events import Envelope, encode, new_envelope
from taskoverflow_events.persistence import dialect_insert
from todo_api.store.tables import events, streams

PRODUCER = "todo-api"


def reserve_sequences(conn: Connection, owner: str, count: int) -> int:
    """Claim `count` sequence numbers for `owner`; returns the last. Locks the stream row."""
    stmt = dialect_insert(conn, streams).values(owner=owner, version=count)
    stmt = stmt.on_conflict_do_update(
        index_elements=[streams.c.owner], set_={"version": streams.c.version + count}
    ).returning(streams.c.version)
    return int(conn.execute(stmt).scalar_one())


def append(
    conn: Connection,
    owner: str,
    payloads: Sequence[BaseModel],
    *,
    correlation_id: str | None = None,
    todo_id: int | None = None,
) -> list[Envelope]:
    if not payloads:
        return []
    last = reserve_sequences(conn, owner, len(payloads))
    return _insert(conn, owner, last - len(payloads) + 1, payloads, correlation_id, todo_id)


def append_one(
    conn: Connection,
    owner: str,
    make_payload: Callable[[int], BaseModel],
    *,
    correlation_id: str | None = None,
) -> Envelope:
    """Append one event whose payload depends on its own sequence (e.g. "as of the one before")."""
    sequence = reserve_sequences(conn, owner, 1)
    return _insert(conn, owner, sequence, [make_payload(sequence)], correlation_id, None)[0]


def _insert(
    conn: Connection,
    owner: str,
    first: int,
    payloads: Sequence[BaseModel],
    correlation_id: str | None,
    todo_id: int | None,
) -> list[Envelope]:
    now = datetime.now(UTC)
    envelopes = [
        new_envelope(
            payload,
            producer=PRODUCER,
            owner=owner,
            correlation_id=correlation_id,
            sequence=first + i,
            occurred_at=now,
        )
        for i, payload in enumerate(payloads)
    ]
    conn.execute(
        events.insert(),
        [
            {
                "event_id": str(env.event_id),
                "owner": owner,
                "sequence": env.sequence,
                "event_type": env.event_type,
                "schema_version": env.schema_version,
                "todo_id": todo_id,
                "correlation_id": correlation_id,
                "occurred_at": now.replace(tzinfo=None),
                "body": encode(env),
            }
            for env in envelopes
        ],
    )
    return envelopes


def stream_version(conn: Connection, owner: str) -> int:
    version = conn.execute(select(streams.c.version).where(streams.c.owner == owner)).scalar()
    return int(version or 0)


def owner_events(conn: Connection, owner: str, *, after: int, limit: int) -> list[tuple[int, str]]:
    """(sequence, body) of an owner's events with sequence > after, in sequence order.

    Paging by the owner's sequence is safe where paging by global position is not: sequences of
    one owner commit in order (see reserve_sequences), positions of different owners do not.
    """
    rows = conn.execute(
        select(events.c.sequence, events.c.body)
        .where(events.c.owner == owner, events.c.sequence > after)
        .order_by(events.c.sequence)
        .limit(limit)
    )
    return [(r.sequence, r.body) for r in rows]


def todo_events(conn: Connection, owner: str, todo_id: int) -> list[str]:
    rows = conn.execute(
        select(events.c.body)
        .where(events.c.owner == owner, events.c.todo_id == todo_id)
        .order_by(events.c.sequence)
    )
    return [r.body for r in rows]
