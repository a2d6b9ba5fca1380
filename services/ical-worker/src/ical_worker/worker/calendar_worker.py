"""What the worker does with each message it consumes.

Calendar events the worker publishes get ids derived from the job (uuid5), so a redelivered
CalendarRequested republishes the very same events and every downstream consumer, which dedups
by event_id, sees it once. The calendar's S3 key is derived from the job too: a re-render
overwrites, so each job has exactly one object.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel
from sqlalchemy import Engine, insert, select

from ical_worker.feed import FeedUnavailable
from ical_worker.projection import Projection, calendar_rows
from ical_worker.render import FEED_HEAD, assemble
from ical_worker.storage import CalendarStore
from ical_worker.store.tables import rendered_jobs
from taskoverflow_events import DecodedEvent, new_envelope
from taskoverflow_events.calendar_keys import feed_key, job_key
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_generation_failed import (
    CalendarGenerationFailedV1,
    ErrorV1,
)
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1

PRODUCER = "ical-worker"
log = structlog.get_logger("ical_worker")


class CalendarWorker:
    def __init__(
        self,
        engine: Engine,
        projection: Projection,
        store: CalendarStore,
        publisher: Publisher,
        *,
        give_up_after_receives: int = 4,
    ) -> None:
        self._engine = engine
        self._projection = projection
        self._store = store
        self._publisher = publisher
        self._give_up_after = give_up_after_receives

    # -- TodoChanged ---------------------------------------------------------------------

    def apply_todo_changed(self, event: DecodedEvent) -> None:
        with self._engine.begin() as conn:
            outcome = self._projection.advance(conn, event)
        log.debug("todo change", outcome=outcome)

    # -- CalendarRequested ---------------------------------------------------------------

    def render_calendar(self, event: DecodedEvent) -> None:
        request = event.payload
        assert isinstance(request, CalendarRequestedV1)
        done = self._rendered(request.job_id)
        if done is not None:
            with self._engine.begin() as conn:
                self._projection.advance(conn, event)
            log.info("calendar already rendered; republishing its outcome")
            self._publish(event, done)
            return
        self._publish(event, CalendarGenerationStartedV1(job_id=request.job_id))
        try:
            generated = self._render(event, request)
        except (FeedUnavailable, BotoCoreError, ClientError) as exc:
            if event.receive_count < self._give_up_after:
                raise
            code = (
                "projection_unavailable"
                if isinstance(exc, FeedUnavailable)
                else "storage_unavailable"
            )
            log.error("giving up on the calendar", error=repr(exc), attempts=event.receive_count)
            self._publish(
                event,
                CalendarGenerationFailedV1(
                    job_id=request.job_id,
                    error=ErrorV1(code=code, message=str(exc)[:500]),
                    notify=request.notify,
                ),
            )
            return
        self._publish(event, generated)

    def _render(self, event: DecodedEvent, request: CalendarRequestedV1) -> CalendarGeneratedV1:
        owner = event.envelope.owner
        key = job_key(owner, request.job_id)
        include_completed = request.options.include_completed
        with self._engine.begin() as conn:
            applied = self._projection.lock(conn, owner)
            if applied < request.as_of:
                applied = self._projection.catch_up(conn, owner, applied, until=request.as_of)
            started = time.perf_counter()
            if applied == request.as_of:
                bodies: Iterable[str] = calendar_rows(
                    conn, owner, include_completed=include_completed
                )
            else:
                bodies = (
                    r.body
                    for r in self._projection.as_of(owner, request.as_of)
                    if include_completed or not r.completed
                )
            counter = _Counter(bodies)
            stored = self._store.put(key, assemble(counter))
            render_ms = round((time.perf_counter() - started) * 1000, 3)
            generated = CalendarGeneratedV1(
                job_id=request.job_id,
                bucket=stored.bucket,
                key=stored.key,
                size=stored.size,
                sha256=stored.sha256,
                event_count=counter.count,
                render_ms=render_ms,
                notify=request.notify,
            )
            conn.execute(
                insert(rendered_jobs).values(
                    job_id=str(request.job_id),
                    owner=owner,
                    **generated.model_dump(exclude={"job_id"}),
                    rendered_at=datetime.now(UTC).replace(tzinfo=None),
                )
            )
            self._projection.advance(conn, event)
        log.info("calendar rendered", events=counter.count, bytes=stored.size, render_ms=render_ms)
        return generated

    # -- the live feed -------------------------------------------------------------------

    def refresh_feeds(self, events: list[DecodedEvent]) -> None:
        """Re-materialise the live feed of every owner whose todos this batch changed: once per
        batch, not per event and not per request, so subscribers read a stored file."""
        owners = {e.envelope.owner for e in events if e.event_type == "TodoChanged"}
        for owner in sorted(owners):
            with self._engine.connect() as conn:
                bodies = calendar_rows(conn, owner, include_completed=True)
                stored = self._store.put(feed_key(owner), assemble(bodies, head=FEED_HEAD))
            log.info("live feed refreshed", owner=owner, bytes=stored.size)

    def _rendered(self, job_id: uuid.UUID) -> CalendarGeneratedV1 | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(rendered_jobs).where(rendered_jobs.c.job_id == str(job_id))
            ).first()
        if row is None:
            return None
        fields = dict(row._mapping)
        return CalendarGeneratedV1.model_validate(fields)

    def _publish(self, cause: DecodedEvent, payload: BaseModel) -> None:
        job_id = getattr(payload, "job_id")  # noqa: B009 - every calendar event has one
        event_type = type(payload).__name__.removesuffix("V1")
        self._publisher.publish(
            new_envelope(
                payload,
                producer=PRODUCER,
                owner=cause.envelope.owner,
                correlation_id=str(job_id),
                causation_id=cause.envelope.event_id,
                event_id=uuid.uuid5(job_id, event_type),
            )
        )


class _Counter:
    """Counts the VEVENTs that pass through on their way to S3."""

    def __init__(self, bodies: Iterable[str]) -> None:
        self._bodies = bodies
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for body in self._bodies:
            self.count += 1
            yield body


def handlers(worker: CalendarWorker) -> dict[str, Callable[[DecodedEvent], None]]:
    return {
        "TodoChanged": worker.apply_todo_changed,
        "CalendarRequested": worker.render_calendar,
    }
