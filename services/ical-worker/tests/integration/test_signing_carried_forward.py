"""A calendar's outcome carries forward which of the owner's webhook secrets sign its webhook
(ADR 11), as it carries `notify`: on success, on a redelivered request (republished from the
job's record, which keeps no signing), and on failure. The notifier signs with what it says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ical_worker.feed import FeedUnavailable
from ical_worker.worker.calendar_worker import CalendarWorker

from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.domain.commands import CreateTodo
from todo_api.store import owners, webhook_secrets

OWNER = "signing-owner"
HOOK = "http://127.0.0.1:9/hook"


def rotated_owner(todo_api: Any) -> dict[str, Any]:
    """An owner at secret version 2, its version 1 still signing for an hour."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with todo_api.todos.engine.begin() as conn:
        owners.create(conn, OWNER, now=now)
        webhook_secrets.rotate(conn, OWNER, now=now, grace=timedelta(hours=1))
        return webhook_secrets.signing(conn, OWNER).model_dump(mode="json")


def test_a_rendered_and_a_republished_outcome_carry_the_requests_signing(
    todo_api: Any, make_worker: Callable[..., CalendarWorker], aws: AwsWorld
) -> None:
    signing = rotated_owner(todo_api)
    assert signing["secret_version"] == 2
    tap = TopicTap(aws.settings, aws.topic_arn("calendar-events"))
    todo_api.todos.create(OWNER, CreateTodo(title="a", deadline_at=datetime(2026, 12, 1, 9)))
    todo_api.calendars.request(OWNER, callback_url=HOOK)
    events = todo_api.events(OWNER)
    assert events[-1].payload.signing.model_dump(mode="json") == signing
    worker = make_worker()
    worker.apply_todo_changed(events[0])
    worker.render_calendar(events[-1])
    worker.render_calendar(events[-1])  # redelivered: republished from the job's record
    published = bodies(tap.read(3, timeout=10, settle=1.0))
    generated = [b for b in published if b["event_type"] == "CalendarGenerated"]
    assert len(generated) == 2
    for body in generated:
        validate_envelope(body)
        assert body["data"]["notify"] == HOOK
        assert body["data"]["signing"] == signing


def test_a_failed_outcome_carries_the_requests_signing(
    todo_api: Any, make_worker: Callable[..., CalendarWorker], aws: AwsWorld
) -> None:
    signing = rotated_owner(todo_api)
    tap = TopicTap(aws.settings, aws.topic_arn("calendar-events"))
    todo_api.todos.create(OWNER, CreateTodo(title="a"))
    todo_api.calendars.request(OWNER, callback_url=HOOK)
    request = todo_api.events(OWNER)[-1]  # the worker has seen nothing: it must read the feed
    publisher = Publisher(aws.settings.client("sns"), aws.topic_arn("calendar-events"))
    worker = make_worker(
        feed_url=f"http://127.0.0.1:{free_port()}", give_up_after_receives=2, publisher=publisher
    )
    with pytest.raises(FeedUnavailable):
        worker.render_calendar(request)
    worker.render_calendar(replace(request, receive_count=2))  # the last attempt: give up
    [failed] = [
        b
        for b in bodies(tap.read(2, timeout=10, settle=0.5))
        if b["event_type"] == "CalendarGenerationFailed"
    ]
    validate_envelope(failed)
    assert failed["data"]["notify"] == HOOK
    assert failed["data"]["signing"] == signing
