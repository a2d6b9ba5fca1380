"""One row per calendar outcome the notifier has handled, keyed by the event's id.

A row is claimed (committed) before the webhook goes out and finished after, so a redelivered
message finds the finished row and only republishes CalendarReady. A claim left behind by a
crash expires after a lease; the webhook is then sent again with the same delivery id, which the
receiver can use to drop the repeat (at-least-once, never silently lost).

The log is created with create_all: it has one table and no migration history yet; the first
change to it should bring in Alembic as todo-api has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)

from taskoverflow_events.persistence import create_tables, dialect_insert

CLAIMED, FINISHED = "claimed", "finished"

metadata = MetaData()
deliveries = Table(
    "deliveries",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("state", String(10), nullable=False),
    Column("url", Text, nullable=True),
    Column("delivered", Boolean, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("status_code", Integer, nullable=True),
    Column("claimed_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
)


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    job_id: str
    state: str
    url: str | None
    delivered: bool | None
    attempts: int
    status_code: int | None
    claimed_at: datetime
    finished_at: datetime | None


def create_schema(engine: Engine) -> None:
    create_tables(engine, metadata)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def get(conn: Connection, event_id: uuid.UUID) -> Delivery | None:
    row = conn.execute(select(deliveries).where(deliveries.c.event_id == str(event_id))).first()
    return Delivery(**row._mapping) if row else None


def claim(
    conn: Connection, event_id: uuid.UUID, job_id: uuid.UUID, url: str | None, lease: timedelta
) -> bool:
    """Take the delivery; False while another process holds an unexpired claim or it is done."""
    inserted = conn.execute(
        dialect_insert(conn, deliveries)
        .values(
            event_id=str(event_id),
            job_id=str(job_id),
            state=CLAIMED,
            url=url,
            attempts=0,
            claimed_at=_now(),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])  # type: ignore[attr-defined]
        .returning(deliveries.c.event_id)
    ).first()
    if inserted:
        return True
    taken = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.event_id == str(event_id),
            deliveries.c.state == CLAIMED,
            deliveries.c.claimed_at < _now() - lease,
        )
        .values(claimed_at=_now())
        .returning(deliveries.c.event_id)
    ).first()
    return taken is not None


def finish(
    conn: Connection,
    event_id: uuid.UUID,
    *,
    delivered: bool | None,
    attempts: int,
    status_code: int | None,
) -> None:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.event_id == str(event_id))
        .values(
            state=FINISHED,
            delivered=delivered,
            attempts=attempts,
            status_code=status_code,
            finished_at=_now(),
        )
    )
