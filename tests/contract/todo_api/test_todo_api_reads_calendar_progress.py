"""todo-api as a consumer: its real consumer loop, fed through the calendar-events topic and its
own subscription, accepts every sample version it subscribes to, with unknown fields added."""

import uuid

import pytest
import requests

from taskoverflow_events import REGISTRY
from taskoverflow_testing.contracts import publish_verbatim, sample, validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from tests.contract.conftest import TodoApiStack
from todo_api.bootstrap import build_consumer
from todo_api.config import Settings

SUBSCRIBED = [
    "CalendarGenerationStarted",
    "CalendarGenerated",
    "CalendarGenerationFailed",
    "CalendarReady",
]


def versions(event_type: str) -> list[int]:
    return [v for t, v, _ in REGISTRY if t == event_type]


def test_it_subscribes_to_exactly_what_it_handles(aws: AwsWorld) -> None:
    subscription = aws.subscription_into("todo-api-calendar-events")
    assert sorted(subscription.event_types) == sorted(SUBSCRIBED)


@pytest.mark.parametrize("extra", [False, True], ids=["as-is", "with-unknown-fields"])
@pytest.mark.parametrize(
    ("event_type", "version", "expected"),
    [
        (t, v, {"CalendarGenerationFailed": "FAILURE"}.get(t, "SUCCESS"))
        for t in SUBSCRIBED
        if t != "CalendarGenerationStarted"
        for v in versions(t)
    ],
)
def test_todo_api_applies_every_version_of_what_it_subscribes_to(
    aws: AwsWorld, todo_api: TodoApiStack, extra: bool, event_type: str, version: int,
    expected: str,
) -> None:  # fmt: skip
    job_id = todo_api.post(
        "/api/v1/todos/ical", {"callback_url": "https://hooks.example.com/calendar"}
    ).json()["task_id"]
    consumer = build_consumer(
        Settings(database_url=todo_api.database_url, aws=aws.settings, consumer_wait_seconds=1)
    )
    topic = aws.topic_arn("calendar-events")
    # Started first; then what finishes the job (the calendar event, or, for CalendarReady, the
    # calendar event and then the webhook's fate); each through the real subscription.
    sequence = ["CalendarGenerationStarted"]
    if event_type == "CalendarReady":
        sequence.append("CalendarGenerated")
    sequence.append(event_type)
    for name in sequence:
        body = sample(name, version if name == event_type else 1, job_id=job_id)
        if extra:
            body["data"]["added_later"] = {"x": 1}
            body["routing_hint"] = "ignored"
        publish_verbatim(aws.settings, topic, body)
        report = consumer.run_once()
        assert len(report.handled) == 1, report
    status = requests.get(f"{todo_api.base_url}/api/v1/todos/ical/{job_id}/status", timeout=5)
    assert status.json()["task_status"] == expected
    notification = status.json()["notification"]
    assert notification["state"] == ("delivered" if event_type == "CalendarReady" else "pending")


def test_the_calendar_request_it_emits_is_valid_and_routed_to_the_worker(
    aws: AwsWorld, todo_api: TodoApiStack
) -> None:
    sub = aws.subscription_into("ical-worker-calendar-requests.fifo")
    tap = TopicTap(aws.settings, aws.topic_arn("todo-events.fifo"), sub.filter_policy())
    job_id = todo_api.post("/api/v1/todos/ical", {"callback_url": "https://example.com/h"}).json()[
        "task_id"
    ]
    [body] = bodies(tap.read(1, timeout=15))
    validate_envelope(body)
    assert body["event_type"] == "CalendarRequested"
    assert body["data"]["job_id"] == job_id
    assert body["data"]["notify"] == "https://example.com/h"
    uuid.UUID(body["event_id"])
