"""What the notifier does with a calendar outcome: webhook (when asked for), then CalendarReady.

Idempotent by event_id through the delivery log: a redelivered CalendarGenerated never notifies
twice, and CalendarReady's id is derived from the job, so republishing it is harmless too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine

from notifier.store import deliveries
from notifier.webhooks import WebhookSender
from taskoverflow_events import DecodedEvent, Envelope, new_envelope
from taskoverflow_events.callback_urls import CallbackRefused, IpNetwork, check_callback_url
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_generation_failed import CalendarGenerationFailedV1
from taskoverflow_events.schemas.calendar_ready import CalendarReadyV1, NotificationV1

PRODUCER = "notifier"
CLAIM_LEASE = timedelta(minutes=2)
log = structlog.get_logger("notifier")

Outcome = CalendarGeneratedV1 | CalendarGenerationFailedV1


class ClaimedElsewhere(RuntimeError):
    """Another notifier is delivering this event right now; try again after it finishes."""


class Notifier:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        sender: WebhookSender | None,
        *,
        public_api_url: str | None = None,
        allowed_networks: Sequence[IpNetwork] = (),
    ) -> None:
        self._allowed_networks = tuple(allowed_networks)
        self._engine = engine
        self._publisher = publisher
        self._sender = sender
        self._public_api_url = public_api_url.rstrip("/") if public_api_url else None

    def deliver_webhooks(self, event: DecodedEvent) -> None:
        outcome = event.payload
        assert isinstance(outcome, CalendarGeneratedV1 | CalendarGenerationFailedV1)
        if not outcome.notify:
            # Nothing to deliver, so nothing to remember: CalendarReady's id is derived from the
            # job, so publishing it again on a redelivery is harmless.
            self._publish_ready(event, outcome, None)
            return
        event_id = event.envelope.event_id
        with self._engine.begin() as conn:
            done = deliveries.get(conn, event_id)
        if done is None or done.state != deliveries.FINISHED:
            with self._engine.begin() as conn:
                if not deliveries.claim(
                    conn, event_id, outcome.job_id, outcome.notify, CLAIM_LEASE
                ):
                    raise ClaimedElsewhere(f"event {event_id} is being delivered elsewhere")
            notification = self._notify(event, outcome)
            with self._engine.begin() as conn:
                deliveries.finish(
                    conn,
                    event_id,
                    delivered=notification.delivered if notification else None,
                    attempts=notification.attempts if notification else 0,
                    status_code=notification.status_code if notification else None,
                )
                done = deliveries.get(conn, event_id)
        else:
            log.info("already delivered; republishing CalendarReady")
        assert done is not None
        self._publish_ready(event, outcome, done)

    def deliver_all(self, events: list[DecodedEvent]) -> None:
        """A run of outcomes from one receive: those with a webhook one by one, as above; the
        CalendarReady of all the others in one PublishBatch (a burst of exports)."""
        plain = []
        for event in events:
            outcome = event.payload
            assert isinstance(outcome, CalendarGeneratedV1 | CalendarGenerationFailedV1)
            if outcome.notify:
                self.deliver_webhooks(event)
            else:
                plain.append(self._ready(event, outcome, None))
        if plain:
            self._publisher.publish_all(plain)

    def _notify(self, event: DecodedEvent, outcome: Outcome) -> NotificationV1 | None:
        if not outcome.notify:
            return None
        if self._sender is None:
            log.warning("a webhook was asked for but WEBHOOK_SECRET is not set; not sending")
            return NotificationV1(url=outcome.notify, delivered=False, attempts=0)
        try:
            check_callback_url(outcome.notify, self._allowed_networks, require_resolution=True)
        except CallbackRefused as exc:
            # todo-api checked it when the job was asked for; DNS may have changed since.
            log.warning("webhook refused", url=outcome.notify, reason=str(exc))
            return NotificationV1(url=outcome.notify, delivered=False, attempts=0)
        body = json.dumps(self._body(event, outcome), separators=(",", ":")).encode()
        result = self._sender.send(
            outcome.notify,
            body,
            delivery_id=str(event.envelope.event_id),
            event_type=event.event_type,
        )
        log.info(
            "webhook sent" if result.delivered else "webhook failed",
            url=outcome.notify,
            attempts=result.attempts,
            status_code=result.status_code,
        )
        return NotificationV1(
            url=outcome.notify,
            delivered=result.delivered,
            attempts=result.attempts,
            status_code=result.status_code,
        )

    def _body(self, event: DecodedEvent, outcome: Outcome) -> dict[str, Any]:
        body: dict[str, Any] = {
            "job_id": str(outcome.job_id),
            "owner": event.envelope.owner,
            "occurred_at": event.envelope.model_dump(mode="json")["occurred_at"],
        }
        if isinstance(outcome, CalendarGeneratedV1):
            body |= {
                "outcome": "success",
                "calendar": {
                    "size": outcome.size,
                    "sha256": outcome.sha256,
                    "event_count": outcome.event_count,
                },
            }
            if self._public_api_url:
                body["result_url"] = (
                    f"{self._public_api_url}/api/v1/todos/ical/{outcome.job_id}/result"
                )
        else:
            body |= {"outcome": "failure", "error": outcome.error.model_dump()}
        return body

    def _publish_ready(
        self, cause: DecodedEvent, outcome: Outcome, done: deliveries.Delivery | None
    ) -> None:
        self._publisher.publish(self._ready(cause, outcome, done))

    @staticmethod
    def _ready(cause: DecodedEvent, outcome: Outcome, done: deliveries.Delivery | None) -> Envelope:
        notification = None
        if done is not None and done.url:
            notification = NotificationV1(
                url=done.url,
                delivered=bool(done.delivered),
                attempts=done.attempts,
                status_code=done.status_code,
            )
        if isinstance(outcome, CalendarGeneratedV1):
            ready = CalendarReadyV1(
                job_id=outcome.job_id,
                outcome="success",
                bucket=outcome.bucket,
                key=outcome.key,
                notification=notification,
            )
        else:
            ready = CalendarReadyV1(
                job_id=outcome.job_id,
                outcome="failure",
                error=outcome.error,
                notification=notification,
            )
        return new_envelope(
            ready,
            producer=PRODUCER,
            owner=cause.envelope.owner,
            correlation_id=str(outcome.job_id),
            causation_id=cause.envelope.event_id,
            event_id=uuid.uuid5(outcome.job_id, "CalendarReady"),
        )


def batch_handlers(notifier: Notifier) -> dict[str, Callable[[list[DecodedEvent]], None]]:
    return {
        "CalendarGenerated": notifier.deliver_all,
        "CalendarGenerationFailed": notifier.deliver_all,
    }


def handlers(notifier: Notifier) -> dict[str, Callable[[DecodedEvent], None]]:
    return {
        "CalendarGenerated": notifier.deliver_webhooks,
        "CalendarGenerationFailed": notifier.deliver_webhooks,
    }
