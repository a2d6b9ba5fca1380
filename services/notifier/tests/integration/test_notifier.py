"""The notifier against PostgreSQL, moto SNS and a real webhook receiver."""

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from notifier.store.deliveries import create_schema
from notifier.webhooks import SIGNATURE_HEADER, WebhookSender, verify
from notifier.worker.notifier import Notifier
from sqlalchemy import Engine

from taskoverflow_events import DecodedEvent, decode
from taskoverflow_events.callback_urls import parse_networks
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.contracts import sample, validate_envelope
from taskoverflow_testing.http_servers import webhook_receiver
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies

SECRET = "notifier-test-secret"


LOOPBACK = parse_networks("127.0.0.0/8")


def outcome_event(event_type: str, notify: str | None) -> DecodedEvent:
    return decode(json.dumps(sample(event_type, job_id=str(uuid.uuid4()), notify=notify)))


@pytest.fixture
def engine(postgres_database: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(postgres_database())
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def notifier(engine: Engine, aws: AwsWorld) -> Notifier:
    publisher = Publisher(aws.settings.client("sns"), aws.topic_arn("calendar-events"))
    sender = WebhookSender(SECRET, timeout=2, attempts=3, backoff=0.01)
    return Notifier(
        engine,
        publisher,
        sender,
        public_api_url="http://localhost:6400",
        allowed_networks=LOOPBACK,
    )


@pytest.fixture
def ready_tap(aws: AwsWorld) -> TopicTap:
    sub = aws.subscription_into("todo-api-calendar-events")
    return TopicTap(aws.settings, aws.topic_arn("calendar-events"), sub.filter_policy())


def test_a_generated_calendar_is_notified_once_even_when_delivered_twice(
    notifier: Notifier, ready_tap: TopicTap
) -> None:
    with webhook_receiver([204]) as hook:
        event = outcome_event("CalendarGenerated", hook.url)
        notifier.deliver_webhooks(event)
        notifier.deliver_webhooks(event)  # a duplicate delivery
    [request] = hook.received
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.body, now=time.time())
    payload = json.loads(request.body)
    job_id = str(event.payload.job_id)  # type: ignore[attr-defined]
    assert payload["job_id"] == job_id
    assert payload["outcome"] == "success"
    assert payload["result_url"] == f"http://localhost:6400/api/v1/todos/ical/{job_id}/result"
    ready = bodies(ready_tap.read(2, timeout=10, settle=0.5))
    assert len(ready) == 2
    assert ready[0]["event_id"] == ready[1]["event_id"], "republished, not a second event"
    validate_envelope(ready[0])
    assert ready[0]["data"]["outcome"] == "success"
    assert ready[0]["data"]["notification"] == {
        "url": hook.url,
        "delivered": True,
        "attempts": 1,
        "status_code": 204,
    }
    assert ready[0]["causation_id"] == str(event.envelope.event_id)


def test_a_failed_generation_is_notified_as_a_failure(
    notifier: Notifier, ready_tap: TopicTap
) -> None:
    with webhook_receiver([500, 200]) as hook:
        notifier.deliver_webhooks(outcome_event("CalendarGenerationFailed", hook.url))
    assert len(hook.received) == 2
    assert json.loads(hook.received[-1].body)["outcome"] == "failure"
    [ready] = bodies(ready_tap.read(1, timeout=10))
    assert ready["data"]["outcome"] == "failure"
    assert ready["data"]["error"]["code"] == "projection_behind"
    assert ready["data"]["notification"]["attempts"] == 2


def test_without_a_callback_the_job_is_still_reported_ready(
    notifier: Notifier, ready_tap: TopicTap
) -> None:
    notifier.deliver_webhooks(outcome_event("CalendarGenerated", None))
    [ready] = bodies(ready_tap.read(1, timeout=10))
    assert ready["data"]["notification"] is None
    assert ready["data"]["key"].endswith(".ics")


def test_a_run_of_outcomes_publishes_every_ready_and_sends_only_the_asked_webhooks(
    notifier: Notifier, ready_tap: TopicTap
) -> None:
    with webhook_receiver([204]) as hook:
        events = [
            outcome_event("CalendarGenerated", None),
            outcome_event("CalendarGenerated", hook.url),
            outcome_event("CalendarGenerated", None),
            outcome_event("CalendarGenerated", None),
        ]
        notifier.deliver_all(events)
    [request] = hook.received
    assert json.loads(request.body)["job_id"] == str(events[1].payload.job_id)  # type: ignore[attr-defined]
    ready = {b["data"]["job_id"]: b for b in bodies(ready_tap.read(4, timeout=10, settle=0.5))}
    assert sorted(ready) == sorted(str(e.payload.job_id) for e in events)  # type: ignore[attr-defined]
    for event in events:
        body = ready[str(event.payload.job_id)]  # type: ignore[attr-defined]
        validate_envelope(body)
        assert body["causation_id"] == str(event.envelope.event_id)
        assert body["data"]["outcome"] == "success"
    assert ready[str(events[1].payload.job_id)]["data"]["notification"]["delivered"] is True  # type: ignore[attr-defined]
    assert ready[str(events[0].payload.job_id)]["data"]["notification"] is None  # type: ignore[attr-defined]


def test_a_receiver_that_keeps_failing_is_reported_undelivered(
    notifier: Notifier, ready_tap: TopicTap
) -> None:
    with webhook_receiver([503]) as hook:
        notifier.deliver_webhooks(outcome_event("CalendarGenerated", hook.url))
    assert len(hook.received) == 3
    [ready] = bodies(ready_tap.read(1, timeout=10))
    assert ready["data"]["notification"]["delivered"] is False
    assert ready["data"]["outcome"] == "success", "the calendar exists; only the webhook failed"


def test_a_callback_to_an_internal_address_is_refused_at_delivery(
    engine: Engine, aws: AwsWorld, ready_tap: TopicTap
) -> None:
    """The receiver listens on loopback, which this notifier does not allow: it never hears."""
    publisher = Publisher(aws.settings.client("sns"), aws.topic_arn("calendar-events"))
    strict = Notifier(engine, publisher, WebhookSender(SECRET, timeout=2, attempts=1))
    with webhook_receiver([204]) as hook:
        strict.deliver_webhooks(outcome_event("CalendarGenerated", hook.url))
    assert hook.received == []
    [ready] = bodies(ready_tap.read(1, timeout=10))
    assert ready["data"]["notification"] == {
        "url": hook.url,
        "delivered": False,
        "attempts": 0,
        "status_code": None,
    }
