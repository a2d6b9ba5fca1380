"""What todo-api does with each event it consumes: move a calendar job forward, once.

A job finishes when its calendar does (CalendarGenerated, CalendarGenerationFailed); its webhook
is reported apart, when CalendarReady says what became of it (ADR 6). Each handler claims the
event's id in the same transaction as its effect, so a redelivery changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import structlog
from sqlalchemy import Connection

from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import BatchHandler, Handler
from taskoverflow_events.schemas.calendar_generated import CalendarGeneratedV1
from taskoverflow_events.schemas.calendar_generation_failed import CalendarGenerationFailedV1
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_ready import CalendarReadyV2
from todo_api.calendar_export import CalendarExport
from todo_api.store import jobs

log = structlog.get_logger("todo_api.consumer")

Effect = Callable[[Connection], None]


def _at(event: DecodedEvent) -> datetime:
    return event.envelope.occurred_at.astimezone(UTC).replace(tzinfo=None)


def _started(event: DecodedEvent) -> Effect | None:
    payload = event.payload
    if not isinstance(payload, CalendarGenerationStartedV1):
        return None
    at = _at(event)
    return lambda conn: jobs.mark_started(conn, str(payload.job_id), at)


def _finished(event: DecodedEvent) -> Effect | None:
    payload = event.payload
    at = _at(event)
    if isinstance(payload, CalendarGeneratedV1):
        return lambda conn: jobs.record_outcome(
            conn, str(payload.job_id), at, status=jobs.SUCCESS, bucket=payload.bucket,
            key=payload.key,
        )  # fmt: skip
    if isinstance(payload, CalendarGenerationFailedV1):
        return lambda conn: jobs.record_outcome(
            conn, str(payload.job_id), at, status=jobs.FAILURE, error_code=payload.error.code,
            error_message=payload.error.message,
        )  # fmt: skip
    return None


def _notified(event: DecodedEvent) -> Effect | None:
    payload = event.payload
    if not isinstance(payload, CalendarReadyV2):
        return None
    at = _at(event)

    def effect(conn: Connection) -> None:
        if payload.outcome is not None:  # from a v1: finishes a job nothing else finished
            jobs.record_outcome(
                conn,
                str(payload.job_id),
                at,
                status=jobs.SUCCESS if payload.outcome == "success" else jobs.FAILURE,
                bucket=payload.bucket,
                key=payload.key,
                error_code=payload.error.code if payload.error else None,
                error_message=payload.error.message if payload.error else None,
            )
        if payload.notification is not None:
            notification = payload.notification
            jobs.record_notification(
                conn,
                str(payload.job_id),
                delivered=notification.delivered,
                attempts=notification.attempts,
                status_code=notification.status_code,
                error=notification.error,
            )

    return effect


def apply_once(
    export: CalendarExport, effect_of: Callable[[DecodedEvent], Effect | None], what: str
) -> BatchHandler:
    """A batch handler: each event's effect, once, all in one transaction."""

    def handle(events: list[DecodedEvent]) -> None:
        chosen = [(e, effect) for e in events if (effect := effect_of(e)) is not None]
        applied = export.apply_each_once([(e.envelope.event_id, f) for e, f in chosen])
        for (event, _), done in zip(chosen, applied, strict=True):
            if done:
                log.info(what, job_id=event.job_id, event_type=event.event_type)
            else:
                log.info("duplicate delivery ignored", event_id=str(event.envelope.event_id))

    return handle


def batch_handlers(export: CalendarExport) -> dict[str, BatchHandler]:
    """A burst of exports finishes many jobs per receive: each run is one transaction."""
    finished = apply_once(export, _finished, "calendar job finished")
    return {
        "CalendarGenerationStarted": apply_once(export, _started, "calendar job started"),
        "CalendarGenerated": finished,
        "CalendarGenerationFailed": finished,
        "CalendarReady": apply_once(export, _notified, "webhook outcome recorded"),
    }


def handlers(export: CalendarExport) -> dict[str, Handler]:
    def one(batch: BatchHandler, event: DecodedEvent) -> None:
        batch([event])

    return {name: partial(one, batch) for name, batch in batch_handlers(export).items()}
