"""Publishing CalendarReady once a delivery ends, and again until it has gone out.

The attempt that ends a delivery publishes its CalendarReady straight away and records that it
did. Should SNS be away, the row stays unreported and the sweep (run now and then) publishes it
later, so a delivery's end is never lost; a CalendarReady published twice (the sweep racing a
slow publish) has the same event id, which its readers drop.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from notifier.ready import after_webhook
from notifier.store import webhook_deliveries as store
from notifier.store.tables import now_utc
from taskoverflow_events.publisher import OutgoingMessage, Publisher, PublishInterrupted

log = structlog.get_logger("notifier.reports")

SWEEP_BATCH = 100


class Reporter:
    def __init__(self, engine: Engine, publisher: Publisher, *, version: int) -> None:
        self._engine = engine
        self._publisher = publisher
        self.version = version

    def report(self, delivery_id: str) -> bool:
        """Publish one ended delivery's CalendarReady; False when it must wait for the sweep."""
        with self._engine.begin() as conn:
            delivery = store.get(conn, delivery_id)
        if delivery is None or delivery.reported_at is not None:
            return True
        try:
            self._publisher.publish(after_webhook(delivery, self.version))
        except Exception as exc:  # noqa: BLE001 - SNS away: the sweep publishes it later
            log.warning("CalendarReady not published; will try again", error=repr(exc))
            return False
        with self._engine.begin() as conn:
            store.mark_reported(conn, [delivery_id], now=now_utc())
        return True

    def sweep(self, *, grace: timedelta = timedelta(seconds=10)) -> int:
        """Publish what ended at least `grace` ago and is still unreported; returns how many.
        The grace leaves a just-ended delivery to the attempt that is publishing it."""
        with self._engine.begin() as conn:
            ended = store.unreported(conn, finished_before=now_utc() - grace, limit=SWEEP_BATCH)
        if not ended:
            return 0
        by_event: dict[str, list[str]] = defaultdict(list)
        messages = []
        for delivery in ended:
            envelope = after_webhook(delivery, self.version)
            by_event[str(envelope.event_id)].append(delivery.delivery_id)
            messages.append(OutgoingMessage.from_envelope(envelope))
        try:
            published = self._publisher.publish_messages(messages).published
        except PublishInterrupted as exc:
            log.warning("CalendarReady sweep interrupted", error=repr(exc.__cause__))
            published = exc.outcome.published
        done = sorted({d for event_id in published for d in by_event[str(event_id)]})
        with self._engine.begin() as conn:
            store.mark_reported(conn, done, now=now_utc())
        if done:
            log.info("CalendarReady published late", deliveries=len(done))
        return len(done)
