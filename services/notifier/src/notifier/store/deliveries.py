"""The previous release's delivery log (`deliveries`), read-only to this release.

That release sent each webhook inline and logged it here. While it may still run beside this
one (a rolling deploy), an outcome it finished must not be sent again by this release when SQS
delivers a copy; and its rows, bookkeeping like any other, are deleted after the retention period.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from notifier.store.tables import deliveries

FINISHED = "finished"


def finished_earlier(conn: Connection, event_ids: list[uuid.UUID]) -> set[str]:
    """Those of `event_ids` the previous release already delivered (or gave up on)."""
    if not event_ids:
        return set()
    rows = conn.execute(
        select(deliveries.c.event_id).where(
            deliveries.c.event_id.in_([str(e) for e in event_ids]),
            deliveries.c.state == FINISHED,
        )
    )
    return set(rows.scalars())


def purge(conn: Connection, *, before: datetime, limit: int) -> int:
    """Forget up to `limit` rows last touched before `before`; returns how many."""
    touched = func.coalesce(deliveries.c.finished_at, deliveries.c.claimed_at)
    doomed = select(deliveries.c.event_id).where(touched < before).limit(limit).scalar_subquery()
    return int(conn.execute(delete(deliveries).where(deliveries.c.event_id.in_(doomed))).rowcount)
