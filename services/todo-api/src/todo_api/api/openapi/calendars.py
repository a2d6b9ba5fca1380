"""The calendar operations: a job asked for, followed and downloaded, and the live feed.
Asking answers 429 past the owner's calendar limit or open-job cap; it takes an
Idempotency-Key."""

from __future__ import annotations

from todo_api.api import requests as rq
from todo_api.api import responses as rs
from todo_api.api.openapi.model import (
    AUTH,
    BAD,
    CALENDAR,
    CALENDAR_LIMIT,
    IDEMPOTENCY_KEY,
    IDEMPOTENT,
    IF_NONE_MATCH,
    MISSING,
    REPLAYED,
    RETRY_AFTER,
    STORAGE,
    TASK_PATH,
    TOO_BIG,
    Answer,
    Operation,
)

CALENDAR_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/api/v1/todos/ical",
        "calendar_jobs.request_calendar",
        "Ask for an iCalendar file of the todos as they are now",
        {
            202: Answer("the job is queued", rs.JobAccepted, headers=REPLAYED),
            400: BAD,
            401: AUTH,
            413: TOO_BIG,
            **IDEMPOTENT,
            429: CALENDAR_LIMIT,
        },
        body=rq.CalendarRequestBody,
        body_required=False,
        headers=IDEMPOTENCY_KEY,
    ),
    Operation(
        "get",
        "/api/v1/todos/ical/{task_id}/status",
        "calendar_jobs.job_status",
        "A calendar job's progress",
        {
            200: Answer("the job", rs.JobStatus),
            400: BAD,
            401: AUTH,
            404: MISSING,
            429: Answer(
                "the caller's own long-polls are at their limit; Retry-After",
                rs.Error,
                headers=RETRY_AFTER,
            ),
        },
        query=rq.JobStatusQuery,
        path_params=TASK_PATH,
    ),
    Operation(
        "get",
        "/api/v1/todos/ical/{task_id}/result",
        "calendar_jobs.job_result",
        "A finished job's calendar",
        {
            200: Answer("the calendar", content=CALENDAR),
            304: Answer("unchanged"),
            400: BAD,
            401: AUTH,
            404: Answer("no such job, or not finished", rs.Error),
            503: STORAGE,
        },
        path_params=TASK_PATH,
        headers=IF_NONE_MATCH,
    ),
    Operation(
        "get",
        "/api/v1/calendar.ics",
        "calendar_feed.live_calendar",
        "The owner's live calendar, to subscribe to",
        {
            200: Answer("the calendar", content=CALENDAR),
            304: Answer("unchanged"),
            400: BAD,
            401: AUTH,
            503: Answer(
                "the feed is being written (Retry-After), or calendar storage is unavailable",
                rs.Error,
            ),
        },
        query=rq.CalendarFeedQuery,
        headers=IF_NONE_MATCH,
    ),
)
