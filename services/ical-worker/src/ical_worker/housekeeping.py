"""What the worker prunes now and then, in small transactions: replaced VEVENT versions older
than the kept history (an owner at a time, skipping one that is busy), and rendered jobs older
than the retention. The projection's current state and the feeds are never pruned: they are
what calendars are made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine, delete, select

from ical_worker.config import Settings
from ical_worker.store import versions
from ical_worker.store.tables import rendered_jobs

log = structlog.get_logger("ical_worker")

BATCH = 1_000


def keep_house(engine: Engine, settings: Settings, *, batches: int = 10) -> int:
    """Each owner's old versions in a transaction of its own (an owner busy right now is left
    for next time), then rendered jobs in small batches."""
    now = datetime.now(UTC).replace(tzinfo=None)
    closed_before = now - timedelta(seconds=settings.version_history_seconds)
    rendered_before = now - timedelta(days=settings.retention_days)
    pruned = 0
    with engine.connect() as conn:
        owners = versions.owners_with_old_versions(conn, closed_before=closed_before, limit=BATCH)
    for owner in owners:
        with engine.begin() as conn:
            pruned += versions.prune_owner(conn, owner, closed_before=closed_before) or 0
    for _ in range(batches):
        with engine.begin() as conn:
            doomed = (
                select(rendered_jobs.c.job_id)
                .where(rendered_jobs.c.rendered_at < rendered_before)
                .limit(BATCH)
                .scalar_subquery()
            )
            done = conn.execute(
                delete(rendered_jobs).where(rendered_jobs.c.job_id.in_(doomed))
            ).rowcount
        pruned += done
        if not done:
            break
    if pruned:
        log.info("old versions and rendered jobs pruned", rows=pruned)
    return pruned
