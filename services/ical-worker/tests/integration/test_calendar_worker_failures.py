"""A job must end even when rendering cannot: SQS redelivers a failed request, and the last
attempt reports the failure with a reason instead of raising again."""

import json
from collections.abc import Callable

import pytest
from ical_worker.feed import FeedUnavailable
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from taskoverflow_events import DecodedEvent
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.calendar_export import CalendarExport

from .conftest import OWNER, TodoApi, create


def test_an_unreachable_feed_is_retried_then_reported_as_a_failure(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "a", 1)
    job_id = todo_api.calendars.request(OWNER)
    request = todo_api.events()[-1]  # the worker has seen nothing: it must read the feed
    worker = make_worker(feed_url=f"http://127.0.0.1:{free_port()}", give_up_after_receives=3)
    with pytest.raises(FeedUnavailable):
        worker.render_calendar(request)  # first delivery: raise, so SQS redelivers it
    worker.render_calendar(_with_receive_count(request, 3))  # last attempt: report it
    published = bodies(calendar_tap.read(3, timeout=10, settle=0.5))
    failed = [b for b in published if b["event_type"] == "CalendarGenerationFailed"]
    assert len(failed) == 1
    assert failed[0]["data"]["job_id"] == job_id
    assert failed[0]["data"]["error"]["code"] == "projection_unavailable"
    validate_envelope(failed[0])
    assert json.dumps(failed[0])


def test_any_failure_on_the_last_attempt_ends_the_job_with_a_reason(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    calendar_tap: TopicTap,
    worker_engine: Engine,
) -> None:
    create(todo_api, "a", 1)
    job_id = todo_api.calendars.request(OWNER)
    request = todo_api.events()[-1]
    worker = make_worker(give_up_after_receives=3)
    with worker_engine.begin() as conn:  # a bug, not an outage: the worker's own table is gone
        conn.execute(text("ALTER TABLE rendered_jobs RENAME TO rendered_jobs_elsewhere"))
    with pytest.raises(ProgrammingError):
        worker.render_calendar(request)  # not yet the last attempt: SQS will redeliver it
    worker.render_calendar(_with_receive_count(request, 3))
    published = bodies(calendar_tap.read(1, timeout=10, settle=0.5))
    [failed] = [b for b in published if b["event_type"] == "CalendarGenerationFailed"]
    assert failed["data"]["job_id"] == job_id
    assert failed["data"]["error"]["code"] == "internal_error"
    assert "rendered_jobs" in failed["data"]["error"]["message"]


def _with_receive_count(event: DecodedEvent, count: int) -> DecodedEvent:
    from dataclasses import replace

    return replace(event, receive_count=count)


def test_a_request_met_after_its_deadline_ends_failed_and_renders_nothing(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    calendar_tap: TopicTap,
    worker_engine: Engine,
) -> None:
    """todo-api fails a job at its deadline; a calendar rendered after it would tell the job's
    webhook receiver the opposite of the job's status."""
    create(todo_api, "a", 1)
    late = CalendarExport(todo_api.todos.engine, job_deadline_seconds=0)  # due as it is asked
    job_id = late.request(OWNER, callback_url="https://hooks.example.com/x")
    request = todo_api.events()[-1]
    make_worker().render_calendar(request)
    published = bodies(calendar_tap.read(1, timeout=10, settle=0.5))
    assert [b["event_type"] for b in published] == ["CalendarGenerationFailed"]
    failed = published[0]["data"]
    assert (failed["job_id"], failed["error"]["code"]) == (job_id, "deadline_exceeded")
    assert failed["notify"] == "https://hooks.example.com/x", "its receiver hears it failed"
    with worker_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rendered_jobs")).scalar_one() == 0
