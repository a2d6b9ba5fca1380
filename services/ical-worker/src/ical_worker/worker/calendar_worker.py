"""What the worker does with each message it consumes.

Calendar events the worker publishes get ids derived from the job (uuid5), so a redelivered
CalendarRequested republishes the very same events and every downstream consumer, which dedups
by event_id, sees it once. The calendar's S3 key is derived from the job too: a re-render
overwrites, so each job has exactly one object.

Requests that arrive together with no write between them (consecutive sequences of one owner's
stream, as in a burst of exports) ask for the same calendar, options aside: it is rendered once
per set of options, the jobs share its S3 object, and their events go out in one PublishBatch.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, insert, select

from ical_worker.feed import FeedUnavailable
from ical_worker.projection import Projection, calendar_rows
from ical_worker.render import FEED_HEAD, assemble
from ical_worker.storage import CalendarStore
from ical_worker.store.tables import rendered_jobs
from ical_worker.worker.announcement import Announcement
from ical_worker.worker.feed_refresher import FeedRefresher
from taskoverflow_events import DecodedEvent, Envelope, new_envelope
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
        feeds: FeedRefresher | None = None,
        announce_after_seconds: float = 0.25,
    ) -> None:
        self._feeds = feeds
        self._announce_after = announce_after_seconds
        self._engine = engine
        self._projection = projection
        self._store = store
        self._publisher = publisher
        self._give_up_after = give_up_after_receives
        self._announcer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="announce")

    # -- TodoChanged ---------------------------------------------------------------------

    def apply_todo_changed(self, event: DecodedEvent) -> None:
        with self._engine.begin() as conn:
            outcome = self._projection.advance(conn, event)
        log.debug("todo change", outcome=outcome)

    def apply_todo_changes(self, events: list[DecodedEvent]) -> None:
        """A run of one owner's TodoChanged from one receive, in one transaction."""
        with self._engine.begin() as conn:
            applied = self._projection.advance_many(conn, events)
        log.debug(
            "todo changes",
            applied=[str(e.envelope.event_id) for e in applied],
            duplicates=len(events) - len(applied),
        )

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
        started = self._announce([event], [CalendarGenerationStartedV1(job_id=request.job_id)])
        try:
            generated = self._render(event, request)
        except (FeedUnavailable, BotoCoreError, ClientError) as failure:
            if event.receive_count < self._give_up_after:
                started.cancel()
                raise
            code = (
                "projection_unavailable"
                if isinstance(failure, FeedUnavailable)
                else "storage_unavailable"
            )
            log.error(
                "giving up on the calendar", error=repr(failure), attempts=event.receive_count
            )
            failed = CalendarGenerationFailedV1(
                job_id=request.job_id,
                error=ErrorV1(code=code, message=str(failure)[:500]),
                notify=request.notify,
            )
            self._publisher.publish_all([*started.unsent(), _envelope(event, failed)])
            return
        except BaseException:
            started.cancel()
            raise
        self._publisher.publish_all([*started.unsent(), _envelope(event, generated)])

    def render_calendars(self, events: list[DecodedEvent]) -> None:
        """A run of one owner's CalendarRequested from one receive. Any trouble (or one already
        rendered, or one retried) and each request goes the one-at-a-time way, which knows how
        to retry and when to give up."""
        requests = [e.payload for e in events if isinstance(e.payload, CalendarRequestedV1)]
        sequences = [e.envelope.sequence or 0 for e in events]
        if (
            len(events) == 1
            or sequences != list(range(sequences[0], sequences[0] + len(events)))
            or any(e.receive_count > 1 for e in events)
            or self._any_rendered([r.job_id for r in requests])
        ):
            for event in events:
                self.render_calendar(event)
            return
        started = self._announce(
            events, [CalendarGenerationStartedV1(job_id=r.job_id) for r in requests]
        )
        try:
            generated = self._render_together(events)
        except Exception as exc:  # noqa: BLE001 - each request then retries or gives up alone
            log.warning("rendering together failed; one at a time", error=repr(exc))
            started.cancel()
            for event in events:
                self.render_calendar(event)
            return
        outcomes = [_envelope(c, g) for c, g in zip(events, generated, strict=True)]
        self._publisher.publish_all([*started.unsent(), *outcomes])

    def _render_together(self, events: list[DecodedEvent]) -> list[CalendarGeneratedV1]:
        owner = events[0].envelope.owner
        generated: list[CalendarGeneratedV1] = []
        first = events[0].payload
        assert isinstance(first, CalendarRequestedV1)
        with self._engine.begin() as conn:
            # Consecutive sequences: only calendar requests lie between the first's as_of and
            # the last's, so every one of them sees the todos as of the first's.
            shared: dict[bool, CalendarGeneratedV1] = {}
            for event in events:
                request = event.payload
                assert isinstance(request, CalendarRequestedV1)
                same = request.options.include_completed
                if same not in shared:
                    shared[same] = self._render_in(conn, event, request, as_of=first.as_of)
                one = shared[same].model_copy(
                    update={"job_id": request.job_id, "notify": request.notify}
                )
                self._record(conn, owner, one)
                generated.append(one)
            self._projection.advance_many(conn, events)
        log.info("calendars rendered together", jobs=len(events), renders=len(shared))
        return generated

    def _render(self, event: DecodedEvent, request: CalendarRequestedV1) -> CalendarGeneratedV1:
        with self._engine.begin() as conn:
            generated = self._render_in(conn, event, request, as_of=request.as_of)
            self._record(conn, event.envelope.owner, generated)
            self._projection.advance(conn, event)
        return generated

    def _render_in(
        self, conn: Connection, event: DecodedEvent, request: CalendarRequestedV1, *, as_of: int
    ) -> CalendarGeneratedV1:
        """Render the owner's todos as of `as_of` with `request`'s options into S3, under its
        job's key; the caller holds the transaction that records it."""
        owner = event.envelope.owner
        key = job_key(owner, request.job_id)
        include_completed = request.options.include_completed
        applied = self._projection.lock(conn, owner)
        if applied < as_of:
            applied = self._projection.catch_up(conn, owner, applied, until=as_of)
        started = time.perf_counter()
        if applied == as_of:
            bodies: Iterable[str] = calendar_rows(conn, owner, include_completed=include_completed)
        else:
            bodies = (
                r.body
                for r in self._projection.as_of(owner, as_of)
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
        log.info("calendar rendered", events=counter.count, bytes=stored.size, render_ms=render_ms)
        return generated

    @staticmethod
    def _record(conn: Connection, owner: str, generated: CalendarGeneratedV1) -> None:
        conn.execute(
            insert(rendered_jobs).values(
                job_id=str(generated.job_id),
                owner=owner,
                **generated.model_dump(exclude={"job_id"}),
                rendered_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )

    # -- the live feed -------------------------------------------------------------------

    def refresh_feeds(self, events: list[DecodedEvent]) -> None:
        """After a batch: the live feed of every owner whose todos it changed is re-materialised,
        at once, or by the feed refresher (at most once per interval) when there is one."""
        owners = {e.envelope.owner for e in events if e.event_type == "TodoChanged"}
        if self._feeds is not None:
            self._feeds.mark(owners)
            return
        for owner in sorted(owners):
            self.refresh_feed(owner)

    def refresh_feed(self, owner: str) -> None:
        with self._engine.connect() as conn:
            bodies = calendar_rows(conn, owner, include_completed=True)
            stored = self._store.put(feed_key(owner), assemble(bodies, head=FEED_HEAD))
        log.info("live feed refreshed", owner=owner, bytes=stored.size)

    def _any_rendered(self, job_ids: list[uuid.UUID]) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(
                select(rendered_jobs.c.job_id)
                .where(rendered_jobs.c.job_id.in_([str(j) for j in job_ids]))
                .limit(1)
            ).first()
        return found is not None

    def _rendered(self, job_id: uuid.UUID) -> CalendarGeneratedV1 | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(rendered_jobs).where(rendered_jobs.c.job_id == str(job_id))
            ).first()
        if row is None:
            return None
        fields = dict(row._mapping)
        return CalendarGeneratedV1.model_validate(fields)

    def _announce(self, causes: list[DecodedEvent], started: list[BaseModel]) -> Announcement:
        """CalendarGenerationStarted, stamped now; see announcement.py for when it goes out."""
        return Announcement(
            [_envelope(c, p) for c, p in zip(causes, started, strict=True)],
            self._publisher.publish_all,
            after=self._announce_after,
            executor=self._announcer,
        )

    def _publish(self, cause: DecodedEvent, payload: BaseModel) -> None:
        self._publisher.publish(_envelope(cause, payload))


def _envelope(cause: DecodedEvent, payload: BaseModel) -> Envelope:
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


def batch_handlers(worker: CalendarWorker) -> dict[str, Callable[[list[DecodedEvent]], None]]:
    return {"TodoChanged": worker.apply_todo_changes, "CalendarRequested": worker.render_calendars}


def handlers(worker: CalendarWorker) -> dict[str, Callable[[DecodedEvent], None]]:
    return {
        "TodoChanged": worker.apply_todo_changed,
        "CalendarRequested": worker.render_calendar,
    }
