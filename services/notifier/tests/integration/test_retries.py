"""The retry schedule against real receivers: what is retried and what ends at once, Retry-After,
the same delivery id on every attempt and after a repeated SQS message, and that every delivery
ends (delivered, or failed with the last status and error)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from notifier.store.tables import webhook_deliveries
from notifier.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from sqlalchemy import func, select

from taskoverflow_testing.ports import free_port

Receivers = Callable[..., Any]


def ids(requests: list[Any]) -> set[str]:
    return {r.headers[DELIVERY_HEADER.lower()] for r in requests}


def test_a_failing_receiver_is_retried_until_it_takes_the_webhook(
    notifiers: Any, receivers: Receivers
) -> None:
    hook = receivers([503, 500, 204])
    notifiers.start(webhook_attempts=3)
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    ended = notifiers.wait_until_ended(job["event_id"], timeout=20)
    assert (ended.state, ended.attempts, ended.status_code, ended.last_error) == (
        "delivered",
        3,
        204,
        None,
    )
    requests = hook.wait_for(3, timeout=1)
    assert len(requests) == 3
    assert ids(requests) == {job["event_id"]}, "one delivery id on every attempt"
    assert len({r.body for r in requests}) == 1, "the same body"
    for request in requests:  # each attempt signed afresh
        assert verify(
            notifiers.secret,
            request.headers[SIGNATURE_HEADER.lower()],
            request.body,
            now=time.time(),
        )


def test_a_client_error_ends_the_delivery_at_once(notifiers: Any, receivers: Receivers) -> None:
    hook = receivers([(410, {}, b"gone for good")])
    notifiers.start(webhook_attempts=5)
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    ended = notifiers.wait_until_ended(job["event_id"], timeout=20)
    assert (ended.state, ended.attempts, ended.status_code) == ("failed", 1, 410)
    assert ended.last_error == "HTTP 410: gone for good"
    time.sleep(0.5)
    assert len(hook.seen) == 1


def test_retry_after_is_honoured(notifiers: Any, receivers: Receivers) -> None:
    hook = receivers([(429, {"Retry-After": "2"}, b""), 204])
    notifiers.start(webhook_attempts=3, webhook_backoff_seconds=0.05)
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    notifiers.wait_until_ended(job["event_id"], timeout=20)
    first, second = hook.wait_for(2, timeout=1)
    assert 1.9 < second.at - first.at < 4.0, "waited as asked, not the 0.05 s backoff"


def test_a_retry_after_longer_than_the_cap_is_capped(notifiers: Any, receivers: Receivers) -> None:
    hook = receivers([(503, {"Retry-After": "3600"}, b""), 204])
    notifiers.start(
        webhook_attempts=3, webhook_backoff_seconds=0.05, webhook_backoff_max_seconds=0.5
    )
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job)
    ended = notifiers.wait_until_ended(job["event_id"], timeout=20)
    assert ended.state == "delivered"
    first, second = hook.wait_for(2, timeout=1)
    assert second.at - first.at < 2.0


def test_every_delivery_ends_after_its_last_attempt(notifiers: Any, receivers: Receivers) -> None:
    failing = receivers([(503, {}, b"down for maintenance")])
    notifiers.start(webhook_attempts=3)
    refusing = notifiers.outcome("CalendarGenerated", failing.url)
    unreachable = notifiers.outcome(
        "CalendarGenerationFailed", f"http://127.0.0.1:{free_port()}/nobody"
    )
    notifiers.publish(refusing, unreachable)
    ended = notifiers.wait_until_ended(refusing["event_id"], timeout=20)
    assert (ended.state, ended.attempts, ended.status_code) == ("failed", 3, 503)
    assert ended.last_error == "HTTP 503: down for maintenance"
    assert len(failing.seen) == 3
    ended = notifiers.wait_until_ended(unreachable["event_id"], timeout=20)
    assert (ended.state, ended.attempts, ended.status_code) == ("failed", 3, None)
    assert "ConnectionRefusedError" in (ended.last_error or "")


def test_a_repeated_message_sends_nothing_more_and_keeps_the_delivery_id(
    notifiers: Any, receivers: Receivers
) -> None:
    hook = receivers([503, 204])
    notifiers.start()
    job = notifiers.outcome("CalendarGenerated", hook.url)
    notifiers.publish(job, job)  # SQS delivers at least once
    notifiers.wait_until_ended(job["event_id"], timeout=20)
    notifiers.publish(job)  # and again, after the delivery ended
    notifiers.wait_until_consumed(timeout=20)
    time.sleep(0.5)
    requests = hook.wait_for(2, timeout=1)
    assert len(requests) == 2, "one failed attempt and one delivery, no more"
    assert ids(requests) == {job["event_id"]}
    with notifiers.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar()
    assert count == 1
