"""What the worker does with each message it consumes.

An owner's TodoChanged apply to the projection in sequence (projection.py); a calendar request
renders the todos as they stood at its `as_of` (rendering.py). Calendar events the worker
publishes get ids derived from the job (uuid5), so a redelivered CalendarRequested republishes
the very same events and every downstream consumer, which dedups by event_id, sees it once.

Requests that arrive together with no write between them (consecutive sequences of one owner's
stream, as in a burst of exports) ask for the same calendar, options aside: it is rendered once
per set of options, the jobs share its S3 object, and their events go out in one PublishBatch.
On a request's last attempt any failure at all ends the job with CalendarGenerationFailed and a
reason, so no job is left waiting once its message is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel
from sqlalchemy import Engine

from ical_worker.feed import FeedUnavailable
from ical_worker.projection import Projection
from ical_worker.storage import CalendarStore
from ical_worker.worker.announcement import Announcement
from ical_worker.worker.deadlines import DEADLINE_EXCEEDED, PAST_DEADLINE, past_deadline
from ical_worker.worker.feed_refresher import LiveFeeds
from ical_worker.worker.rendering import Renderer, envelope
from taskoverflow_events import DecodedEvent
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_generation_failed import (
    CalendarGenerationFailedV1,
    ErrorV1,
)
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1

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
        feeds: LiveFeeds | None = None,
        feeds_in_background: bool = False,
        announce_after_seconds: float = 0.25,
    ) -> None:
        # feeds_in_background: a FeedRefresher writes due feeds (at most once per interval).
        self._feeds = feeds or LiveFeeds(engine, store)
        self._feeds_in_background = feeds_in_background
        self._announce_after = announce_after_seconds
        self._engine = engine
        self._projection = projection
        self._renderer = Renderer(engine, projection, store)
        self._publisher = publisher
        self._give_up_after = give_up_after_receives
        # One announcement waits a quarter second per render in hand: as many as loops render.
        self._announcer = ThreadPoolExecutor(max_workers=8, thread_name_prefix="announce")

    # -- TodoChanged ---------------------------------------------------------------------

    def apply_todo_changed(self, event: DecodedEvent) -> None:
        self.apply_todo_changes([event])

    def apply_todo_changes(self, events: list[DecodedEvent]) -> None:
        """A run of one owner's TodoChanged from one receive, in one transaction. A gap before
        it (a calendar request's own sequence, a change that went elsewhere) is read from the
        feed first, with no lock held."""
        owner, first = events[0].envelope.owner, events[0].envelope.sequence or 0
        self._projection.read_ahead(self._engine, owner, first - 1)
        with self._engine.begin() as conn:
            fresh = self._projection.advance_many(conn, events)
        log.debug(
            "todo changes",
            applied=[str(e.envelope.event_id) for e in fresh],
            duplicates=len(events) - len(fresh),
        )

    # -- CalendarRequested ---------------------------------------------------------------

    def render_calendar(self, event: DecodedEvent) -> None:
        request = event.payload
        assert isinstance(request, CalendarRequestedV1)
        started: Announcement | None = None
        try:
            done = self._renderer.rendered(request.job_id)
            if done is not None:
                log.info("calendar already rendered; republishing its outcome")
            elif past_deadline(request):
                log.warning("calendar request past its deadline; not rendered")
                self._end_failed(event, request, DEADLINE_EXCEEDED, PAST_DEADLINE, None)
                return
            else:
                started = self._announce([event])
                done = self._render([event])[0]
        except Exception as failure:
            if event.receive_count < self._give_up_after:
                if started is not None:
                    started.cancel()
                raise
            rendered = self._rendered_elsewhere(request)
            if rendered is None:
                self._give_up(event, request, failure, started)
                return
            done = rendered  # a render of the same job got there first: never fail it
        except BaseException:
            if started is not None:
                started.cancel()
            raise
        unsent = started.unsent() if started is not None else []
        self._publisher.publish_all([*unsent, envelope(event, done)])

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
            or any(past_deadline(r) for r in requests)
            or self._renderer.any_rendered([r.job_id for r in requests])
        ):
            for event in events:
                self.render_calendar(event)
            return
        started = self._announce(events)
        try:
            generated = self._render(events)
        except Exception as exc:  # noqa: BLE001 - each request then retries or gives up alone
            log.warning("rendering together failed; one at a time", error=repr(exc))
            started.cancel()
            for event in events:
                self.render_calendar(event)
            return
        log.info("calendars rendered together", jobs=len(events))
        outcomes = [envelope(c, g) for c, g in zip(events, generated, strict=True)]
        self._publisher.publish_all([*started.unsent(), *outcomes])

    def _render(self, events: list[DecodedEvent]) -> list[CalendarGeneratedV1]:
        return self._renderer.render(events)

    def _rendered_elsewhere(self, request: CalendarRequestedV1) -> CalendarGeneratedV1 | None:
        """Before failing a job: did another render of it (a duplicate message) succeed?"""
        try:
            return self._renderer.rendered(request.job_id)
        except Exception:  # noqa: BLE001 - the same fault, most likely: no, as far as we know
            return None

    def _give_up(
        self,
        event: DecodedEvent,
        request: CalendarRequestedV1,
        failure: Exception,
        started: Announcement | None,
    ) -> None:
        code = (
            "projection_unavailable"
            if isinstance(failure, FeedUnavailable)
            else "storage_unavailable"
            if isinstance(failure, BotoCoreError | ClientError)
            else "internal_error"
        )
        log.error(
            "giving up on the calendar",
            error=repr(failure),
            attempts=event.receive_count,
            exc_info=failure,
        )
        message = str(failure)[:500] or type(failure).__name__
        self._end_failed(event, request, code, message, started)

    def _end_failed(
        self,
        event: DecodedEvent,
        request: CalendarRequestedV1,
        code: str,
        message: str,
        started: Announcement | None,
    ) -> None:
        failed = CalendarGenerationFailedV1(
            job_id=request.job_id, error=ErrorV1(code=code, message=message), notify=request.notify
        )
        unsent = started.unsent() if started is not None else []
        self._publisher.publish_all([*unsent, envelope(event, failed)])

    def _announce(self, causes: list[DecodedEvent]) -> Announcement:
        """CalendarGenerationStarted, stamped now; see announcement.py for when it goes out."""
        started: list[BaseModel] = [
            CalendarGenerationStartedV1(job_id=c.payload.job_id)  # type: ignore[attr-defined]
            for c in causes
        ]
        return Announcement(
            [envelope(c, p) for c, p in zip(causes, started, strict=True)],
            self._publisher.publish_all,
            after=self._announce_after,
            executor=self._announcer,
        )

    # -- the live feed -------------------------------------------------------------------

    def refresh_feeds(self, events: list[DecodedEvent]) -> None:
        """After a batch: the live feed of every owner whose todos it changed is rewritten at
        once, unless the feed refresher writes them. Either way the projection has already
        recorded them as due, so a feed that fails here is written by the refresher later."""
        if self._feeds_in_background:
            return
        for owner in sorted({e.envelope.owner for e in events if e.event_type == "TodoChanged"}):
            try:
                self.refresh_feed(owner)
            except Exception as exc:  # noqa: BLE001 - still due: the refresher retries it
                log.warning("live feed refresh failed; left due", owner=owner, error=repr(exc))

    def refresh_feed(self, owner: str) -> int | None:
        """Write the owner's live feed if it is behind the projection (feed_refresher.py)."""
        return self._feeds.refresh(owner)


def batch_handlers(worker: CalendarWorker) -> dict[str, Callable[[list[DecodedEvent]], None]]:
    return {"TodoChanged": worker.apply_todo_changes, "CalendarRequested": worker.render_calendars}


def handlers(worker: CalendarWorker) -> dict[str, Callable[[DecodedEvent], None]]:
    return {
        "TodoChanged": worker.apply_todo_changed,
        "CalendarRequested": worker.render_calendar,
    }
