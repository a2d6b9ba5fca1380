"""Render a calendar exactly as its owner's todos stood at the request's `as_of`, into S3.

A request travels in a message group of its own (ADR 8), so it may arrive before its owner's
changes up to `as_of` have reached the projection, or after later ones have. Behind: the changes
are read from todo-api's feed before the owner's row is locked (`prefetch`) and applied under
it, and the request then moves the projection past itself, so the changes behind it apply
without a gap. Ahead: the calendar is assembled from the todos' versions valid at `as_of`. Older
than the kept history: folded from the whole feed (slow, and rare).

The S3 key is derived from the job, so a re-render overwrites: each job has one object.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import structlog
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, insert, select

from ical_worker.projection import Projection
from ical_worker.render import assemble
from ical_worker.storage import CalendarStore
from ical_worker.store import versions
from ical_worker.store.tables import rendered_jobs
from taskoverflow_events import DecodedEvent, Envelope, new_envelope
from taskoverflow_events.calendar_keys import job_key
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1

PRODUCER = "ical-worker"
log = structlog.get_logger("ical_worker")


class Renderer:
    def __init__(self, engine: Engine, projection: Projection, store: CalendarStore) -> None:
        self._engine = engine
        self._projection = projection
        self._store = store

    def prefetch(self, owner: str, as_of: int) -> list[DecodedEvent]:
        """What the projection lacks up to `as_of`, read from the feed with no lock held."""
        with self._engine.connect() as conn:
            applied = self._projection.applied(conn, owner)
        return self._projection.prefetch(owner, after=applied, until=as_of)

    def render(
        self,
        conn: Connection,
        requests: Sequence[DecodedEvent],
        *,
        prefetched: Sequence[DecodedEvent] = (),
    ) -> list[CalendarGeneratedV1]:
        """Render consecutive requests of one owner (only requests between them, so they see
        the same todos: the first's `as_of`), each set of options once, and record each job;
        then move the projection past them. The caller holds the transaction."""
        first = requests[0].payload
        assert isinstance(first, CalendarRequestedV1)
        owner = requests[0].envelope.owner
        at_as_of = self._reach(conn, owner, first.as_of, prefetched)
        shared: dict[bool, CalendarGeneratedV1] = {}
        generated = []
        for event in requests:
            request = event.payload
            assert isinstance(request, CalendarRequestedV1)
            options = request.options.include_completed
            if options not in shared:
                bodies = self._bodies(conn, owner, first.as_of, at_as_of, options)
                shared[options] = self._put(owner, request, bodies)
            one = shared[options].model_copy(
                update={"job_id": request.job_id, "notify": request.notify}
            )
            self.record(conn, owner, one)
            generated.append(one)
        if at_as_of:
            self._projection.advance_many(conn, requests)
        return generated

    def _reach(
        self, conn: Connection, owner: str, as_of: int, prefetched: Sequence[DecodedEvent]
    ) -> bool:
        """Lock the owner and bring the projection up to `as_of` if it is behind; True when it
        then stands exactly at `as_of` (False: it had already moved past)."""
        applied = self._projection.lock(conn, owner)
        if applied < as_of:
            ahead = [e for e in prefetched if applied < (e.envelope.sequence or 0) <= as_of]
            if ahead:
                self._projection.advance_many(conn, ahead)
                applied = self._projection.lock(conn, owner)
            if applied < as_of:
                applied = self._projection.catch_up(conn, owner, applied, until=as_of)
        return applied == as_of

    def _bodies(
        self, conn: Connection, owner: str, as_of: int, at_as_of: bool, include_completed: bool
    ) -> Iterable[str]:
        if at_as_of:
            return versions.current_bodies(conn, owner, include_completed=include_completed)
        if as_of >= self._projection.history_from(conn, owner):
            return versions.bodies_at(conn, owner, as_of, include_completed=include_completed)
        log.info("calendar asked of a point before the kept history; folding the feed")
        return self._projection.folded_from_feed(owner, as_of, include_completed=include_completed)

    def _put(
        self, owner: str, request: CalendarRequestedV1, bodies: Iterable[str]
    ) -> CalendarGeneratedV1:
        started = time.perf_counter()
        counter = _Counter(bodies)
        stored = self._store.put(job_key(owner, request.job_id), assemble(counter))
        render_ms = round((time.perf_counter() - started) * 1000, 3)
        log.info("calendar rendered", events=counter.count, bytes=stored.size, render_ms=render_ms)
        return CalendarGeneratedV1(
            job_id=request.job_id,
            bucket=stored.bucket,
            key=stored.key,
            size=stored.size,
            sha256=stored.sha256,
            event_count=counter.count,
            render_ms=render_ms,
            notify=request.notify,
        )

    @staticmethod
    def record(conn: Connection, owner: str, generated: CalendarGeneratedV1) -> None:
        conn.execute(
            insert(rendered_jobs).values(
                job_id=str(generated.job_id),
                owner=owner,
                **generated.model_dump(exclude={"job_id"}),
                rendered_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )

    def any_rendered(self, job_ids: list[uuid.UUID]) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(
                select(rendered_jobs.c.job_id)
                .where(rendered_jobs.c.job_id.in_([str(j) for j in job_ids]))
                .limit(1)
            ).first()
        return found is not None

    def rendered(self, job_id: uuid.UUID) -> CalendarGeneratedV1 | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(rendered_jobs).where(rendered_jobs.c.job_id == str(job_id))
            ).first()
        return None if row is None else CalendarGeneratedV1.model_validate(dict(row._mapping))


def envelope(cause: DecodedEvent, payload: BaseModel) -> Envelope:
    """An event about a job, with an id derived from the job: republishing it is harmless."""
    job_id = getattr(payload, "job_id")  # noqa: B009 - every calendar event has one
    event_type = type(payload).__name__.removesuffix("V1")
    return new_envelope(
        payload,
        producer=PRODUCER,
        owner=cause.envelope.owner,
        correlation_id=str(job_id),
        causation_id=cause.envelope.event_id,
        event_id=uuid.uuid5(job_id, event_type),
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
