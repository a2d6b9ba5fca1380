"""What the consumer process does beside consuming: end overdue jobs, forget old bookkeeping.

Every job ends: one that no calendar event finished within JOB_DEADLINE_SECONDS (its message
dead-lettered, a worker gone for good) is failed with the reason `deadline_exceeded`, so a
client polling it gets an answer. Bookkeeping does not grow forever: handled event ids and
finished jobs older than RETENTION_DAYS are deleted in small batches, and so are idempotency
keys older than IDEMPOTENCY_RETENTION_HOURS and rate buckets idle for an hour (a missing bucket
is a full one, so deleting it changes no answer). The event store itself keeps everything; it
is the record, not bookkeeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine

from taskoverflow_events.persistence import purge_handled_events
from todo_api.store import idempotency, jobs, rate_limits
from todo_api.store.tables import handled_events

log = structlog.get_logger("todo_api.consumer")

PURGE_BATCH = 1_000
# A rate bucket full again for this long belongs to an owner who has gone quiet.
IDLE_BUCKET = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def fail_overdue_jobs(engine: Engine, deadline_seconds: float) -> list[str]:
    now = _now()
    with engine.begin() as conn:
        failed = jobs.fail_overdue(
            conn, requested_before=now - timedelta(seconds=deadline_seconds), now=now
        )
    if failed:
        log.warning(
            "calendar jobs passed their deadline; failed", jobs=failed, deadline_s=deadline_seconds
        )
    return failed


def purge_bookkeeping(
    engine: Engine, retention_days: int, *, idempotency_hours: int = 24, batches: int = 10
) -> int:
    """Up to `batches` small transactions, so a large backlog never holds locks for long."""
    now = _now()
    before = now - timedelta(days=retention_days)
    keys_before = now - timedelta(hours=idempotency_hours)
    idle_before = (now - IDLE_BUCKET).replace(tzinfo=UTC).timestamp()
    purged = 0
    for _ in range(batches):
        with engine.begin() as conn:
            done = purge_handled_events(conn, handled_events, before=before, limit=PURGE_BATCH)
            done += jobs.purge_finished(conn, requested_before=before, limit=PURGE_BATCH)
            done += idempotency.purge(conn, before=keys_before, limit=PURGE_BATCH)
            done += rate_limits.purge_idle(conn, full_before=idle_before, limit=PURGE_BATCH)
        purged += done
        if done == 0:
            break
    if purged:
        log.info("old bookkeeping deleted", rows=purged, retention_days=retention_days)
    return purged
