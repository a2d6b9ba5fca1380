"""Calendar job status: PENDING when requested, STARTED, then SUCCESS or FAILURE.

The status follows the calendar (CalendarGenerated or CalendarGenerationFailed); a webhook, if
asked for, is reported apart: `pending` once the job has finished, then `delivered` or `failed`
from CalendarReady (ADR 6). The calendar-events queue is a standard queue, so events arrive in
any order; updates therefore only ever move a job forward, and a job that no event finishes is
failed by the deadline sweep, so every job ends with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, select, update

from todo_api.store.tables import calendar_jobs

PENDING, STARTED, SUCCESS, FAILURE = "PENDING", "STARTED", "SUCCESS", "FAILURE"
FINISHED = (SUCCESS, FAILURE)
NOTIFY_PENDING, NOTIFY_DELIVERED, NOTIFY_FAILED = "pending", "delivered", "failed"
DEADLINE_EXCEEDED = "deadline_exceeded"


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
    notification_state: str | None = None
    notification_attempts: int | None = None
    notification_status_code: int | None = None
    notification_error: str | None = None


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


def open_count(conn: Connection, owner: str, *, notifying_since: datetime) -> int:
    """The owner's open jobs: unfinished (PENDING or STARTED), or finished with a webhook whose
    fate is not yet known. A job finishes before its webhook is delivered, so counting only the
    unfinished would let an owner pile up deliveries in the notifier without bound. A webhook
    whose report never comes (CalendarReady lost) stops counting once its job was requested
    before `notifying_since`. The two sets are disjoint (a webhook is pending only once its job
    has finished), and each is counted by a partial index of its own."""
    jobs = calendar_jobs.c

    def count(*where: Any) -> Any:
        return select(func.count()).select_from(calendar_jobs).where(*where).scalar_subquery()

    unfinished = count(jobs.owner == owner, jobs.finished_at.is_(None))
    notifying = count(
        jobs.owner == owner,
        jobs.notification_state == NOTIFY_PENDING,
        jobs.requested_at >= notifying_since,
    )
    return int(conn.execute(select(unfinished + notifying)).scalar_one())


def mark_started(conn: Connection, job_id: str, at: datetime) -> None:
    conn.execute(
        update(calendar_jobs)
        .where(calendar_jobs.c.job_id == job_id, calendar_jobs.c.status == PENDING)
        .values(status=STARTED, started_at=at)
    )


def record_outcome(conn: Connection, job_id: str, at: datetime, **outcome: Any) -> None:
    """Finish a job (SUCCESS or FAILURE) unless it already finished; a webhook it asked for is
    pending from now on (unless its fate is known already: events arrive in any order)."""
    state = case(
        (calendar_jobs.c.notification_state.is_not(None), calendar_jobs.c.notification_state),
        (calendar_jobs.c.callback_url.is_not(None), NOTIFY_PENDING),
        else_=None,
    )
    conn.execute(
        update(calendar_jobs)
        .where(calendar_jobs.c.job_id == job_id, calendar_jobs.c.status.not_in(FINISHED))
        .values(finished_at=at, notification_state=state, **outcome)
    )


def record_notification(
    conn: Connection,
    job_id: str,
    *,
    delivered: bool,
    attempts: int,
    status_code: int | None,
    error: str | None,
) -> None:
    """The webhook's fate, whatever the job's status: delivery is reported apart (ADR 6)."""
    conn.execute(
        update(calendar_jobs)
        .where(calendar_jobs.c.job_id == job_id)
        .values(
            notified=delivered,
            notification_state=NOTIFY_DELIVERED if delivered else NOTIFY_FAILED,
            notification_attempts=attempts,
            notification_status_code=status_code,
            notification_error=error,
        )
    )


def fail_overdue(
    conn: Connection, *, requested_before: datetime, now: datetime, limit: int = 1_000
) -> list[str]:
    """Fail up to `limit` jobs still unfinished that were asked for before `requested_before`.
    A webhook such a job asked for is failed with it (`notified` false), so the job no longer
    counts as open. A worker that meets the request after its deadline fails it the same way
    (deadline_exceeded) and the notifier then tells the receiver so: that report, when it comes,
    replaces this one."""
    overdue = (
        select(calendar_jobs.c.job_id)
        .where(
            calendar_jobs.c.finished_at.is_(None),
            calendar_jobs.c.requested_at < requested_before,
        )
        .limit(limit)
        .scalar_subquery()
    )
    rows = conn.execute(
        update(calendar_jobs)
        .where(calendar_jobs.c.job_id.in_(overdue), calendar_jobs.c.finished_at.is_(None))
        .values(
            status=FAILURE,
            finished_at=now,
            error_code=DEADLINE_EXCEEDED,
            error_message="the calendar was not generated in time; ask for it again",
            notification_state=case(
                (calendar_jobs.c.callback_url.is_not(None), NOTIFY_FAILED), else_=None
            ),
            notified=case((calendar_jobs.c.callback_url.is_not(None), False), else_=None),
            notification_error=case(
                (
                    calendar_jobs.c.callback_url.is_not(None),
                    "the job ended at its deadline; no webhook had been sent",
                ),
                else_=None,
            ),
        )
        .returning(calendar_jobs.c.job_id)
    )
    return [r.job_id for r in rows]


def purge_finished(conn: Connection, *, requested_before: datetime, limit: int) -> int:
    """Delete up to `limit` finished jobs asked for before `requested_before` (their calendars
    have expired from S3 by then); returns how many went."""
    doomed = (
        select(calendar_jobs.c.job_id)
        .where(
            calendar_jobs.c.requested_at < requested_before,
            calendar_jobs.c.finished_at.is_not(None),
        )
        .limit(limit)
        .scalar_subquery()
    )
    result = conn.execute(delete(calendar_jobs).where(calendar_jobs.c.job_id.in_(doomed)))
    return int(result.rowcount or 0)
