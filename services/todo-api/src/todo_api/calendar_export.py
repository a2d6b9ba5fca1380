"""The calendar-export use cases: request a calendar, follow its job, apply its progress events.

Requesting appends CalendarRequested to the owner's stream and records the job in one
transaction, so the worker's calendar includes every change the owner made before asking
(`as_of` is the sequence just before the request's own) and nothing after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from taskoverflow_events.persistence import claim_event
from taskoverflow_events.schemas.calendar_requested import CalendarOptionsV1, CalendarRequestedV1
from todo_api.application import Clock, utc_now
from todo_api.store import event_store, jobs
from todo_api.store.tables import handled_events


class JobNotFound(LookupError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"calendar job {job_id} not found")


class CalendarExport:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    def request(
        self,
        owner: str,
        *,
        include_completed: bool = True,
        callback_url: str | None = None,
    ) -> str:
        job_id = uuid.uuid4()

        def payload(sequence: int) -> CalendarRequestedV1:
            return CalendarRequestedV1(
                job_id=job_id,
                as_of=sequence - 1,
                options=CalendarOptionsV1(include_completed=include_completed),
                notify=callback_url,
            )

        with self.engine.begin() as conn:
            envelope = event_store.append_one(conn, owner, payload, correlation_id=str(job_id))
            jobs.create(
                conn,
                job_id=job_id,
                owner=owner,
                as_of=(envelope.sequence or 1) - 1,
                include_completed=include_completed,
                callback_url=callback_url,
                now=self._clock(),
            )
        return str(job_id)

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
