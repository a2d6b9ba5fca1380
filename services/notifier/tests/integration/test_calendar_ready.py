"""What the notifier publishes, and when: CalendarReady v1 by default (at once for a job without a
webhook, after the webhook for one with), v2 when EVENT_WRITE_VERSIONS asks for it (and then
nothing for a job without a webhook); each checked against the committed JSON Schemas."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from notifier.delivery.attempts import UNSIGNED
from notifier.delivery.housekeeping import Housekeeper
from notifier.delivery.reports import Reporter
from notifier.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify

from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.queues import bodies

Receivers = Callable[..., Any]


def test_a_webhook_job_gets_v1_after_its_webhook_and_a_plain_job_at_once(
    notifiers: Any, receivers: Receivers
) -> None:
    tap = notifiers.ready_tap()
    hook = receivers([204])
    notifiers.start()
    with_hook = notifiers.outcome("CalendarGenerated", hook.url)
    plain = notifiers.outcome("CalendarGenerated", None)
    notifiers.publish(with_hook, plain)
    ready = {b["data"]["job_id"]: b for b in bodies(tap.read(2, timeout=20, settle=0.5))}
    assert sorted(ready) == sorted(o["data"]["job_id"] for o in (with_hook, plain))
    for body in ready.values():
        validate_envelope(body)
        assert (body["event_type"], body["schema_version"]) == ("CalendarReady", 1)
        assert body["data"]["outcome"] == "success"
        assert body["event_id"] == str(
            uuid.uuid5(uuid.UUID(body["data"]["job_id"]), "CalendarReady")
        )
    [request] = hook.seen
    assert request.headers[DELIVERY_HEADER.lower()] == with_hook["event_id"]
    assert verify(
        notifiers.secret, request.headers[SIGNATURE_HEADER.lower()], request.body, now=time.time()
    )
    sent = json.loads(request.body)
    job_id = with_hook["data"]["job_id"]
    assert sent["job_id"] == job_id
    assert sent["result_url"] == f"http://localhost:6400/api/v1/todos/ical/{job_id}/result"
    notified = ready[job_id]
    assert notified["data"]["notification"] == {
        "url": hook.url,
        "delivered": True,
        "attempts": 1,
        "status_code": 204,
    }
    assert notified["data"]["key"] == with_hook["data"]["key"]
    assert notified["causation_id"] == with_hook["event_id"]
    assert ready[plain["data"]["job_id"]]["data"]["notification"] is None


def test_a_failed_calendar_is_reported_as_a_failure_with_its_webhook(
    notifiers: Any, receivers: Receivers
) -> None:
    tap = notifiers.ready_tap()
    hook = receivers([500, 200])
    notifiers.start()
    job = notifiers.outcome("CalendarGenerationFailed", hook.url)
    notifiers.publish(job)
    [ready] = bodies(tap.read(1, timeout=20))
    validate_envelope(ready)
    assert ready["data"]["outcome"] == "failure"
    assert ready["data"]["error"] == job["data"]["error"]
    assert ready["data"]["notification"] == {
        "url": hook.url,
        "delivered": True,
        "attempts": 2,
        "status_code": 200,
    }
    assert json.loads(hook.seen[-1].body)["outcome"] == "failure"


def test_with_calendar_ready_v2_only_webhooks_are_reported(
    notifiers: Any, receivers: Receivers
) -> None:
    tap = notifiers.ready_tap()
    taking = receivers([503, 204])
    refusing = receivers([(404, {}, b"no such hook")])
    notifiers.start(write_versions={"CalendarReady": 2})
    delivered = notifiers.outcome("CalendarGenerated", taking.url)
    refused = notifiers.outcome("CalendarGenerationFailed", refusing.url)
    plain = notifiers.outcome("CalendarGenerated", None)
    notifiers.publish(plain, delivered, refused)
    ready = {b["data"]["job_id"]: b for b in bodies(tap.read(2, timeout=20, settle=2.0))}
    assert plain["data"]["job_id"] not in ready, "no CalendarReady without a webhook"
    assert len(ready) == 2
    for body in ready.values():
        validate_envelope(body)
        assert (body["event_type"], body["schema_version"]) == ("CalendarReady", 2)
        assert body["data"].get("outcome") is None, "v2 reports the webhook, not the job"
    assert ready[delivered["data"]["job_id"]]["data"]["notification"] == {
        "url": taking.url,
        "delivered": True,
        "attempts": 2,
        "status_code": 204,
        "delivery_id": delivered["event_id"],
        "error": None,
    }
    assert ready[refused["data"]["job_id"]]["data"]["notification"] == {
        "url": refusing.url,
        "delivered": False,
        "attempts": 1,
        "status_code": 404,
        "delivery_id": refused["event_id"],
        "error": "HTTP 404: no such hook",
    }


def test_a_callback_to_an_internal_address_is_refused_at_delivery(
    notifiers: Any, receivers: Receivers
) -> None:
    """The receiver listens on loopback, which this notifier does not allow: it never hears."""
    tap = notifiers.ready_tap()
    hook = receivers([204])
    notifiers.start(callback_allowed_networks=())
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    [ready] = bodies(tap.read(1, timeout=20))
    assert ready["data"]["notification"] == {
        "url": hook.url,
        "delivered": False,
        "attempts": 0,
        "status_code": None,
    }
    ended = notifiers.delivery(job["event_id"])
    assert ended.state == "failed"
    assert ended.last_error.startswith("refused: 127.0.0.1 is an internal address")
    assert hook.seen == []


def test_without_a_secret_nothing_is_sent_and_ready_says_so(
    notifiers: Any, receivers: Receivers
) -> None:
    tap = notifiers.ready_tap()
    hook = receivers([204])
    notifiers.start(webhook_signing_key=None)
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    [ready] = bodies(tap.read(1, timeout=20))
    assert ready["data"]["notification"]["delivered"] is False
    assert ready["data"]["notification"]["attempts"] == 0
    assert notifiers.delivery(job["event_id"]).last_error == UNSIGNED
    assert hook.seen == []


def test_a_calendar_ready_that_could_not_be_published_goes_out_later(
    notifiers: Any, receivers: Receivers
) -> None:
    tap = notifiers.ready_tap()
    hook = receivers([204])
    missing_topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    notifiers.start(calendar_topic=missing_topic)
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    assert hook.wait_for(1, timeout=20)
    deadline = time.monotonic() + 10
    while (ended := notifiers.delivery(job["event_id"])).state == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ended.state == "delivered"
    assert ended.reported_at is None, "SNS refused it; it is still owed"
    notifiers.stop_all()
    # The next notifier's housekeeper publishes what is still owed, once.
    topic = notifiers.aws.topic_arn("calendar-events")
    publisher = Publisher(notifiers.aws.settings.client("sns"), topic)
    reporter = Reporter(notifiers.engine, publisher, version=1)
    housekeeper = Housekeeper(
        notifiers.engine, reporter, retention_days=30, sweep_seconds=0.2, sweep_grace_seconds=0
    ).start()
    try:
        [ready] = bodies(tap.read(1, timeout=20, settle=1.0))
    finally:
        housekeeper.stop()
    assert ready["data"]["job_id"] == job["data"]["job_id"]
    assert ready["data"]["notification"]["delivered"] is True
    assert notifiers.delivery(job["event_id"]).reported_at is not None
