"""Render a calendar exactly as its owner's todos stood at the request's `as_of`, into S3.

A request travels in a message group of its own (ADR 8), so it may arrive before its owner's
changes up to `as_of` have reached the projection, or after later ones have. Three short steps,
so the owner's lock is never held across a feed read or an S3 upload:
1. the missing changes up to `as_of` are read from todo-api's feed a page at a time and applied
   (Projection.read_ahead); then, under the owner's lock, a projection standing exactly at
   `as_of` steps past the request itself, so the changes behind it apply without a gap;
2. the calendar is assembled from the todo versions valid at `as_of` (no lock: a closed version
   never changes, and pruning only removes versions older than the kept history, which is
   checked again after the upload), or folded from the whole feed when `as_of` is older;
3. the job is recorded; a second render of the same job (a duplicate message handled at the
   same time) finds the first's record and keeps it, at the same S3 key with the same content.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import structlog
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, select

from ical_worker.projection import Projection
from ical_worker.render import assemble
from ical_worker.storage import CalendarStore
from ical_worker.store import versions
from ical_worker.store.tables import rendered_jobs
from taskoverflow_events import DecodedEvent, Envelope, new_envelope
from taskoverflow_events.calendar_keys import job_key
from taskoverflow_events.persistence import dialect_insert
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_generation_failed import CalendarGenerationFailedV1
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1

PRODUCER = "ical-worker"
log = structlog.get_logger("ical_worker")


class Renderer:
    def __init__(self, engine: Engine, projection: Projection, store: CalendarStore) -> None:
        self._engine = engine
        self._projection = projection
        self._store = store

    def render(self, requests: Sequence[DecodedEvent]) -> list[CalendarGeneratedV1]:
        """Render consecutive requests of one owner (only requests between them, so they see
        the same todos: the first's `as_of`), each set of options once, and record each job."""
        first = requests[0].payload
        assert isinstance(first, CalendarRequestedV1)
        owner, as_of = requests[0].envelope.owner, first.as_of
        history_from = self._reach(requests, owner, as_of)
        shared: dict[bool, CalendarGeneratedV1] = {}
        for event in requests:
            request = event.payload
            assert isinstance(request, CalendarRequestedV1)
            options = request.options.include_completed
            if options not in shared:
                shared[options] = self._render_once(owner, request, as_of, history_from)
        generated = []
        with self._engine.begin() as conn:
            for event in requests:
                request = event.payload
                assert isinstance(request, CalendarRequestedV1)
                one = shared[request.options.include_completed].model_copy(
                    update={"job_id": request.job_id, "notify": request.notify}
                )
                generated.append(self.record(conn, owner, one))
        return generated

    def _reach(self, requests: Sequence[DecodedEvent], owner: str, as_of: int) -> int:
        """Step 1: the projection at `as_of` or past it; returns the owner's history_from."""
        self._projection.read_ahead(self._engine, owner, as_of)
        with self._engine.begin() as conn:
            applied = self._projection.lock(conn, owner)
            if applied < as_of:  # a race with a rebuild: read the rest under the lock
                applied = self._projection.catch_up(conn, owner, applied, until=as_of)
            if applied == as_of:
                self._projection.advance_many(conn, requests)
            return self._projection.history_from(conn, owner)

    def _render_once(
        self, owner: str, request: CalendarRequestedV1, as_of: int, history_from: int
    ) -> CalendarGeneratedV1:
        """Step 2, for one set of options."""
        include_completed = request.options.include_completed
        if as_of >= history_from:
            with self._engine.connect() as conn:
                generated = self._put(
                    owner,
                    request,
                    versions.bodies_at(conn, owner, as_of, include_completed=include_completed),
                )
                if as_of >= self._projection.history_from(conn, owner):
                    return generated
            log.info("the versions at as_of were pruned while rendering; folding the feed")
        else:
            log.info("calendar asked of a point before the kept history; folding the feed")
        bodies = self._projection.folded_from_feed(
            owner, as_of, include_completed=include_completed
        )
        return self._put(owner, request, bodies)

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

    def record(
        self, conn: Connection, owner: str, generated: CalendarGeneratedV1
    ) -> CalendarGeneratedV1:
        """Step 3: record the job, unless a render of it got there first (then that one)."""
        inserted = conn.execute(
            dialect_insert(conn, rendered_jobs)
            .values(
                job_id=str(generated.job_id),
                owner=owner,
                **generated.model_dump(exclude={"job_id", "signing"}),
                rendered_at=datetime.now(UTC).replace(tzinfo=None),
            )
            .on_conflict_do_nothing(index_elements=["job_id"])  # type: ignore[attr-defined]
            .returning(rendered_jobs.c.job_id)
        ).first()
        if inserted is not None:
            return generated
        row = conn.execute(
            select(rendered_jobs).where(rendered_jobs.c.job_id == str(generated.job_id))
        ).one()
        return CalendarGeneratedV1.model_validate(dict(row._mapping))

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
    """An event about a job, with an id derived from the job: republishing it is harmless.
    An outcome carries forward what its request asked of the notifier (carried_forward)."""
    if isinstance(payload, CalendarGeneratedV1 | CalendarGenerationFailedV1):
        payload = carried_forward(cause, payload)
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


def carried_forward(
    cause: DecodedEvent, outcome: CalendarGeneratedV1 | CalendarGenerationFailedV1
) -> CalendarGeneratedV1 | CalendarGenerationFailedV1:
    """The outcome with its request's `notify` and `signing` (which of the owner's webhook
    secrets sign, ADR 11). Taken from the request in hand, not from the job's record, so an
    outcome republished for a redelivered request carries them too; the record keeps neither
    the signing nor needs a schema change for it."""
    request = cause.payload
    if not isinstance(request, CalendarRequestedV1):
        return outcome
    return outcome.model_copy(update={"notify": request.notify, "signing": request.signing})


class _Counter:
    """Counts the VEVENTs that pass through on their way to S3."""

    def __init__(self, bodies: Iterable[str]) -> None:
        self._bodies = bodies
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for body in self._bodies:
            self.count += 1
            yield body
