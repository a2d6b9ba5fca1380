"""CalendarReady, in the version this release writes (taskoverflow_events.versions, ADR 7).

- v1 (the default while the previous release's todo-api, which reads only v1, may still run)
  repeats the calendar's outcome with the webhook's fate, and is also published at once for a
  job without a webhook, because that todo-api finishes jobs from it.
- v2 reports only a webhook's fate (job status now comes from the calendar events), so a job
  without a webhook gets none.

The event id is derived from the job, so publishing it again (a retry, a redelivery) is harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from notifier.store.tables import DELIVERED
from notifier.store.webhook_deliveries import Delivery
from taskoverflow_events import DecodedEvent, Envelope, new_envelope
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_generation_failed import (
    CalendarGenerationFailedV1,
    ErrorV1,
)
from taskoverflow_events.schemas.calendar_ready import (
    CalendarReadyV1,
    CalendarReadyV2,
    NotificationV1,
    NotificationV2,
)
from taskoverflow_events.versions import write_version

PRODUCER = "notifier"
Outcome = CalendarGeneratedV1 | CalendarGenerationFailedV1


def ready_version(write_versions: Mapping[str, int]) -> int:
    return write_version("CalendarReady", write_versions)


def ready_id(job_id: uuid.UUID | str) -> uuid.UUID:
    job = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(job_id)
    return uuid.uuid5(job, "CalendarReady")


def without_webhook(event: DecodedEvent, version: int) -> Envelope | None:
    """What a job that asked for no webhook gets: v1 at once, or nothing from v2 on."""
    outcome = event.payload
    assert isinstance(outcome, Outcome)
    if version >= 2:
        return None
    if isinstance(outcome, CalendarGeneratedV1):
        ready = CalendarReadyV1(
            job_id=outcome.job_id, outcome="success", bucket=outcome.bucket, key=outcome.key
        )
    else:
        ready = CalendarReadyV1(job_id=outcome.job_id, outcome="failure", error=outcome.error)
    return new_envelope(
        ready,
        producer=PRODUCER,
        owner=event.envelope.owner,
        correlation_id=str(outcome.job_id),
        causation_id=event.envelope.event_id,
        event_id=ready_id(outcome.job_id),
    )


def after_webhook(delivery: Delivery, version: int) -> Envelope:
    """What a job gets once its webhook was delivered or given up on."""
    delivered = delivery.state == DELIVERED
    ready: CalendarReadyV1 | CalendarReadyV2
    if version >= 2:
        ready = CalendarReadyV2(
            job_id=uuid.UUID(delivery.job_id),
            notification=NotificationV2(
                url=delivery.url,
                delivered=delivered,
                attempts=delivery.attempts,
                status_code=delivery.status_code,
                delivery_id=delivery.delivery_id,
                error=None if delivered else delivery.last_error,
            ),
        )
    else:
        error = (
            ErrorV1.model_validate_json(delivery.calendar_error)
            if delivery.calendar_error
            else None
        )
        ready = CalendarReadyV1(
            job_id=uuid.UUID(delivery.job_id),
            outcome="success" if delivery.outcome == "success" else "failure",
            bucket=delivery.bucket,
            key=delivery.key,
            error=error,
            notification=NotificationV1(
                url=delivery.url,
                delivered=delivered,
                attempts=delivery.attempts,
                status_code=delivery.status_code,
            ),
        )
    return new_envelope(
        ready,
        producer=PRODUCER,
        owner=delivery.owner,
        correlation_id=delivery.job_id,
        causation_id=uuid.UUID(delivery.delivery_id),
        event_id=ready_id(delivery.job_id),
    )
