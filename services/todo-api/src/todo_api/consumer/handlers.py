"""What todo-api does with each event it consumes: move a calendar job forward, once."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import structlog
from sqlalchemy import Connection

from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import Handler
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_ready import CalendarReadyV1
from todo_api.calendar_export import CalendarExport
from todo_api.store import jobs

log = structlog.get_logger("todo_api.consumer")


def _at(event: DecodedEvent) -> datetime:
    return event.envelope.occurred_at.astimezone(UTC).replace(tzinfo=None)


def record_job_started(export: CalendarExport, event: DecodedEvent) -> None:
    payload = event.payload
    assert isinstance(payload, CalendarGenerationStartedV1)

    def effect(conn: Connection) -> None:
        jobs.mark_started(conn, str(payload.job_id), _at(event))

    if not export.apply_once(event.envelope.event_id, effect):
        log.info("duplicate delivery ignored")


def record_job_outcome(export: CalendarExport, event: DecodedEvent) -> None:
    payload = event.payload
    assert isinstance(payload, CalendarReadyV1)
    succeeded = payload.outcome == "success"

    def effect(conn: Connection) -> None:
        jobs.record_outcome(
            conn,
            str(payload.job_id),
            _at(event),
            status=jobs.SUCCESS if succeeded else jobs.FAILURE,
            bucket=payload.bucket,
            key=payload.key,
            error_code=payload.error.code if payload.error else None,
            error_message=payload.error.message if payload.error else None,
            notified=payload.notification.delivered if payload.notification else None,
        )

    if export.apply_once(event.envelope.event_id, effect):
        log.info("calendar job finished", outcome=payload.outcome)
    else:
        log.info("duplicate delivery ignored")


def handlers(export: CalendarExport) -> dict[str, Handler]:
    return {
        "CalendarGenerationStarted": partial(record_job_started, export),
        "CalendarReady": partial(record_job_outcome, export),
    }
