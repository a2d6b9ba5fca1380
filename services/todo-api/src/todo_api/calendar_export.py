"""The calendar-export use cases: request a calendar, follow its job, apply its progress events.

Requesting appends CalendarRequested to the owner's stream and records the job in one
transaction, so the worker's calendar includes every change the owner made before asking
(`as_of` is the sequence just before the request's own) and nothing after it. A request with a
callback also carries which of the owner's webhook secrets sign it (versions, never a secret;
ADR 11), read in the same transaction, so a rotation applies from the next request on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine

from taskoverflow_events.persistence import claim_event
from taskoverflow_events.schemas.calendar_requested import (
    CalendarOptionsV1,
    CalendarRequestedV1,
    WebhookSigningV1,
)
from todo_api.application import Clock, utc_now
from todo_api.config import DEFAULT_NOTIFICATION_DEADLINE_SECONDS
from todo_api.store import event_store, jobs, webhook_secrets
from todo_api.store.tables import handled_events


class JobNotFound(LookupError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"calendar job {job_id} not found")


class TooManyOpenJobs(Exception):
    """The owner has as many open jobs as it may (OPEN_JOBS_PER_OWNER): 429."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"{cap} calendar jobs of yours are still PENDING or STARTED, or finished with their"
            " webhook not yet delivered or given up on, as many as may be open at once; ask"
            " again when one has finished"
        )


class AlsoInTransaction(Protocol):
    """Run in the request's transaction with the new job's id (an idempotency answer, say)."""

    def __call__(self, conn: Connection, job_id: str, /) -> None: ...


class CalendarExport:
    def __init__(
        self,
        engine: Engine,
        clock: Clock = utc_now,
        *,
        max_open_jobs: int = 0,
        notification_deadline_seconds: float = DEFAULT_NOTIFICATION_DEADLINE_SECONDS,
        job_deadline_seconds: float | None = None,
    ) -> None:
        """`max_open_jobs`: how many open jobs one owner may have (unfinished, or waiting for
        their webhook's fate); 0 for no cap. A job whose webhook's fate is still unknown this
        long after it was requested stops counting (its report was lost, say)."""
        self.engine = engine
        self._clock = clock
        self._max_open_jobs = max_open_jobs
        self._notification_deadline = timedelta(seconds=notification_deadline_seconds)
        # Written into each request as its deadline_at, for the worker (JOB_DEADLINE_SECONDS).
        self._job_deadline = (
            None if job_deadline_seconds is None else timedelta(seconds=job_deadline_seconds)
        )

    def request(
        self,
        owner: str,
        *,
        include_completed: bool = True,
        callback_url: str | None = None,
        also: AlsoInTransaction | None = None,
    ) -> str:
        """Appending takes the owner's stream row first, so an owner's requests queue there and
        each counts the open jobs the ones before it committed: the cap holds under concurrency,
        across processes. Raises TooManyOpenJobs, with nothing written, past the cap."""
        job_id = uuid.uuid4()
        signing: WebhookSigningV1 | None = None
        now = self._clock()
        deadline_at = None if self._job_deadline is None else now + self._job_deadline

        def payload(sequence: int) -> CalendarRequestedV1:
            return CalendarRequestedV1(
                job_id=job_id,
                as_of=sequence - 1,
                options=CalendarOptionsV1(include_completed=include_completed),
                notify=callback_url,
                signing=signing,
                deadline_at=deadline_at,
            )

        with self.engine.begin() as conn:
            if callback_url is not None:
                signing = webhook_secrets.signing(conn, owner)
            envelope = event_store.append_one(conn, owner, payload, correlation_id=str(job_id))
            if self._max_open_jobs and self._open_jobs(conn, owner, now) >= self._max_open_jobs:
                raise TooManyOpenJobs(self._max_open_jobs)
            jobs.create(
                conn,
                job_id=job_id,
                owner=owner,
                as_of=(envelope.sequence or 1) - 1,
                include_completed=include_completed,
                callback_url=callback_url,
                now=now,
            )
            if also is not None:
                also(conn, str(job_id))
        return str(job_id)

    def _open_jobs(self, conn: Connection, owner: str, now: datetime) -> int:
        return jobs.open_count(conn, owner, notifying_since=now - self._notification_deadline)

    def job(self, owner: str, job_id: str) -> jobs.CalendarJob:
        with self.engine.connect() as conn:
            job = jobs.get(conn, owner, job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    # -- applied by the consumer process --------------------------------------------------

    def apply_each_once(
        self, effects: list[tuple[uuid.UUID, Callable[[Connection], None]]]
    ) -> list[bool]:
        """Run each event's effect unless that event was handled before, each claim in the same
        transaction as its effect, and all in one transaction: all of them, or (on an error)
        none, so a redelivery of the run finds every one still to do."""
        applied = []
        with self.engine.begin() as conn:
            for event_id, effect in effects:
                claimed = claim_event(conn, handled_events, event_id)
                if claimed:
                    effect(conn)
                applied.append(claimed)
        return applied
