"""Calendar job status: PENDING when requested, STARTED, then SUCCESS or FAILURE.

The calendar-events queue is a standard queue, so CalendarReady may overtake
CalendarGenerationStarted; updates therefore only ever move a job forward.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from todo_api.store.tables import calendar_jobs

PENDING, STARTED, SUCCESS, FAILURE = "PENDING", "STARTED", "SUCCESS", "FAILURE"
FINISHED = (SUCCESS, FAILURE)


@dataclass(frozen=True, slots=True)
class CalendarJob:
    job_id: str
    owner: str
    status: str
    as_of: int
    include_completed: bool
    callback_url: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    bucket: str | None
    key: str | None
    error_code: str | None
    error_message: str | None
    notified: bool | None


def create(
    conn: Connection,
    *,
    job_id: uuid.UUID,
    owner: str,
    as_of: int,
    include_completed: bool,
    callback_url: str | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(calendar_jobs).values(
            job_id=str(job_id),
            owner=owner,
            status=PENDING,
            as_of=as_of,
            include_completed=include_completed,
            callback_url=callback_url,
            requested_at=now,
        )
    )


def get(conn: Connection, owner: str, job_id: str) -> CalendarJob | None:
    row = conn.execute(
        select(calendar_jobs).where(
            calendar_jobs.c.job_id == job_id, calendar_jobs.c.owner == owner
        )
    ).first()
    return CalendarJob(**row._mapping) if row else None


def mark_started(conn: Connection, job_id: str, at: datetime) -> None:
    conn.execute(
        update(calendar_jobs)
        .where(calendar_jobs.c.job_id == job_id, calendar_jobs.c.status == PENDING)
        .values(status=STARTED, started_at=at)
    )


def record_outcome(conn: Connection, job_id: str, at: datetime, **outcome: Any) -> None:
    """Finish a job (SUCCESS or FAILURE) unless it already finished."""
    conn.execute(
        update(calendar_jobs)
        .where(calendar_jobs.c.job_id == job_id, calendar_jobs.c.status.not_in(FINISHED))
        .values(finished_at=at, **outcome)
    )
