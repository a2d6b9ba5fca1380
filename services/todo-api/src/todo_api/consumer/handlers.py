"""What todo-api does with each event it consumes: move a calendar job forward, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import structlog
from sqlalchemy import Connection

from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import BatchHandler, Handler
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_ready import CalendarReadyV1
from todo_api.calendar_export import CalendarExport
from todo_api.store import jobs

log = structlog.get_logger("todo_api.consumer")

Effect = Callable[[Connection], None]


def _at(event: DecodedEvent) -> datetime:
    return event.envelope.occurred_at.astimezone(UTC).replace(tzinfo=None)


def record_job_started(export: CalendarExport, event: DecodedEvent) -> None:
    record_jobs_started(export, [event])


def record_jobs_started(export: CalendarExport, events: list[DecodedEvent]) -> None:
    def effect(payload: CalendarGenerationStartedV1, at: datetime) -> Effect:
        return lambda conn: jobs.mark_started(conn, str(payload.job_id), at)

    chosen = [e for e in events if isinstance(e.payload, CalendarGenerationStartedV1)]
    applied = export.apply_each_once(
        [(e.envelope.event_id, effect(e.payload, _at(e))) for e in chosen]  # type: ignore[arg-type]
    )
    for event, done in zip(chosen, applied, strict=True):
        if not done:
            log.info("duplicate delivery ignored", event_id=str(event.envelope.event_id))


def record_job_outcome(export: CalendarExport, event: DecodedEvent) -> None:
    record_job_outcomes(export, [event])


def record_job_outcomes(export: CalendarExport, events: list[DecodedEvent]) -> None:
    def effect(payload: CalendarReadyV1, at: datetime) -> Effect:
        succeeded = payload.outcome == "success"
        return lambda conn: jobs.record_outcome(
            conn,
            str(payload.job_id),
            at,
            status=jobs.SUCCESS if succeeded else jobs.FAILURE,
            bucket=payload.bucket,
            key=payload.key,
            error_code=payload.error.code if payload.error else None,
            error_message=payload.error.message if payload.error else None,
            notified=payload.notification.delivered if payload.notification else None,
        )

    chosen = [e for e in events if isinstance(e.payload, CalendarReadyV1)]
    applied = export.apply_each_once(
        [(e.envelope.event_id, effect(e.payload, _at(e))) for e in chosen]  # type: ignore[arg-type]
    )
    for event, done in zip(chosen, applied, strict=True):
        outcome = getattr(event.payload, "outcome", None)
        if done:
            log.info("calendar job finished", outcome=outcome, job_id=event.envelope.correlation_id)
        else:
            log.info("duplicate delivery ignored", event_id=str(event.envelope.event_id))


def handlers(export: CalendarExport) -> dict[str, Handler]:
    return {
        "CalendarGenerationStarted": partial(record_job_started, export),
        "CalendarReady": partial(record_job_outcome, export),
    }


def batch_handlers(export: CalendarExport) -> dict[str, BatchHandler]:
    """A burst of exports finishes many jobs per receive: each run is one transaction."""
    return {
        "CalendarGenerationStarted": partial(record_jobs_started, export),
        "CalendarReady": partial(record_job_outcomes, export),
    }
