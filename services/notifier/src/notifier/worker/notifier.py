"""What the notifier's consumer does with a calendar outcome: queue its webhook, and return.

The SQS message is done with as soon as the delivery is recorded (one transaction), so the
consumer loop never waits on a receiver; the dispatcher makes the attempts. A repeated message
records nothing (the outcome's event_id is the delivery's key and id). A job without a webhook
gets its CalendarReady v1 at once while v1 is written (ready.py); from v2 on, nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Engine

from notifier.ready import Outcome, ready_version, without_webhook
from notifier.store import webhook_deliveries as store
from notifier.store.tables import now_utc
from taskoverflow_events import DecodedEvent
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_requested import WebhookSigningV1

log = structlog.get_logger("notifier")


class Notifier:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        public_api_url: str | None = None,
        write_versions: Mapping[str, int] | None = None,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._public_api_url = public_api_url.rstrip("/") if public_api_url else None
        self._version = ready_version(write_versions or {})
        self._on_queued = on_queued

    def queue_webhook(self, event: DecodedEvent) -> None:
        self.queue_webhooks([event])

    def queue_webhooks(self, events: list[DecodedEvent]) -> None:
        """A run of outcomes from one receive: the webhooks recorded in one transaction, the
        immediate CalendarReady events (v1, jobs without a webhook) in one PublishBatch. A
        failure fails the run, which SQS redelivers; both steps are idempotent."""
        asked = [e for e in events if _outcome(e).notify]
        if asked:
            with self._engine.begin() as conn:
                queued = store.record(conn, [self._delivery(e) for e in asked], now=now_utc())
            for event in asked:
                fresh = str(event.envelope.event_id) in queued
                log.info(
                    "webhook queued" if fresh else "webhook already queued; nothing to do",
                    delivery_id=str(event.envelope.event_id),
                    job_id=event.job_id,
                    owner=event.envelope.owner,
                )
            if queued:
                self._on_queued()
        ready = [without_webhook(e, self._version) for e in events if not _outcome(e).notify]
        envelopes = [r for r in ready if r is not None]
        if envelopes:
            self._publisher.publish_all(envelopes)

    def _delivery(self, event: DecodedEvent) -> store.NewDelivery:
        outcome = _outcome(event)
        assert outcome.notify
        generated = isinstance(outcome, CalendarGeneratedV1)
        signing = outcome.signing or WebhookSigningV1()  # absent: version 1, as before
        return store.NewDelivery(
            delivery_id=event.envelope.event_id,
            job_id=outcome.job_id,
            owner=event.envelope.owner,
            url=outcome.notify,
            event_type=event.event_type,
            body=json.dumps(self._body(event, outcome), separators=(",", ":")),
            outcome="success" if generated else "failure",
            bucket=outcome.bucket if generated else None,
            key=outcome.key if generated else None,
            calendar_error=None if generated else outcome.error.model_dump_json(),
            secret_version=signing.secret_version,
            previous_secret_valid_until=_naive_utc(signing.previous_valid_until),
        )

    def _body(self, event: DecodedEvent, outcome: Outcome) -> dict[str, Any]:
        """What the receiver is sent (and what is signed), fixed when the delivery is queued."""
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


def _naive_utc(moment: datetime | None) -> datetime | None:
    """As this database stores every time: naive UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _outcome(event: DecodedEvent) -> Outcome:
    outcome = event.payload
    assert isinstance(outcome, Outcome)
    return outcome


def batch_handlers(notifier: Notifier) -> dict[str, Callable[[list[DecodedEvent]], None]]:
    return {
        "CalendarGenerated": notifier.queue_webhooks,
        "CalendarGenerationFailed": notifier.queue_webhooks,
    }


def handlers(notifier: Notifier) -> dict[str, Callable[[DecodedEvent], None]]:
    return {
        "CalendarGenerated": notifier.queue_webhook,
        "CalendarGenerationFailed": notifier.queue_webhook,
    }
