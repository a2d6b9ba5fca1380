"""The durable webhook queue (`webhook_deliveries`): record, read, report, forget.

A delivery is recorded once per outcome: the outcome's event_id is its key and its delivery id,
so a repeated SQS message inserts nothing. Attempts are claimed and settled in claims.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select, update

from notifier.store import deliveries as previous_release
from notifier.store.tables import PENDING
from notifier.store.tables import webhook_deliveries as table
from taskoverflow_events.persistence import dialect_insert


@dataclass(frozen=True, slots=True)
class NewDelivery:
    delivery_id: uuid.UUID
    job_id: uuid.UUID
    owner: str
    url: str
    event_type: str
    body: str
    outcome: str
    bucket: str | None = None
    key: str | None = None
    calendar_error: str | None = None
    secret_version: int = 1
    previous_secret_valid_until: datetime | None = None  # naive UTC


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    job_id: str
    owner: str
    url: str
    event_type: str
    body: str
    outcome: str
    bucket: str | None
    key: str | None
    calendar_error: str | None
    secret_version: int | None
    previous_secret_valid_until: datetime | None
    state: str
    attempts: int
    next_attempt_at: datetime
    claim_token: str | None
    claimed_until: datetime | None
    status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    reported_at: datetime | None


def record(conn: Connection, new: list[NewDelivery], *, now: datetime) -> list[str]:
    """Queue each delivery, due now; returns the ids newly queued (repeats insert nothing)."""
    done_before = previous_release.finished_earlier(conn, [d.delivery_id for d in new])
    queued = []
    for d in new:
        if str(d.delivery_id) in done_before:
            continue
        row = conn.execute(
            dialect_insert(conn, table)
            .values(
                delivery_id=str(d.delivery_id),
                job_id=str(d.job_id),
                owner=d.owner,
                url=d.url,
                event_type=d.event_type,
                body=d.body,
                outcome=d.outcome,
                bucket=d.bucket,
                key=d.key,
                calendar_error=d.calendar_error,
                secret_version=d.secret_version,
                previous_secret_valid_until=d.previous_secret_valid_until,
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["delivery_id"])  # type: ignore[attr-defined]
            .returning(table.c.delivery_id)
        ).first()
        if row is not None:
            queued.append(row.delivery_id)
    return queued


def get(conn: Connection, delivery_id: str | uuid.UUID) -> Delivery | None:
    row = conn.execute(select(table).where(table.c.delivery_id == str(delivery_id))).first()
    return Delivery(**row._mapping) if row else None


def unreported(conn: Connection, *, finished_before: datetime, limit: int) -> list[Delivery]:
    """Finished deliveries whose CalendarReady has not been published yet, oldest first."""
    rows = conn.execute(
        select(table)
        .where(table.c.state != PENDING, table.c.reported_at.is_(None))
        .where(table.c.finished_at <= finished_before)
        .order_by(table.c.finished_at)
        .limit(limit)
    )
    return [Delivery(**r._mapping) for r in rows]


def mark_reported(conn: Connection, delivery_ids: list[str], *, now: datetime) -> None:
    if delivery_ids:
        conn.execute(
            update(table).where(table.c.delivery_id.in_(delivery_ids)).values(reported_at=now)
        )


def purge(conn: Connection, *, before: datetime, limit: int) -> int:
    """Forget up to `limit` deliveries finished and reported before `before`; returns how many.
    A pending or unreported delivery is never forgotten."""
    doomed = (
        select(table.c.delivery_id)
        .where(and_(table.c.finished_at < before, table.c.reported_at.is_not(None)))
        .limit(limit)
        .scalar_subquery()
    )
    return int(conn.execute(delete(table).where(table.c.delivery_id.in_(doomed))).rowcount)
