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

SUBSCRIBED = ["CalendarGenerationStarted", "CalendarReady"]


def versions(event_type: str) -> list[int]:
    return [v for t, v, _ in REGISTRY if t == event_type]


@pytest.mark.parametrize("extra", [False, True], ids=["as-is", "with-unknown-fields"])
def test_todo_api_applies_every_version_of_what_it_subscribes_to(
    aws: AwsWorld, todo_api: TodoApiStack, extra: bool
) -> None:
    job_id = todo_api.post("/api/v1/todos/ical", None).json()["task_id"]
    consumer = build_consumer(
        Settings(database_url=todo_api.database_url, aws=aws.settings, consumer_wait_seconds=1)
    )
    topic = aws.topic_arn("calendar-events")
    expected = {"CalendarGenerationStarted": "STARTED", "CalendarReady": "SUCCESS"}
    for event_type in SUBSCRIBED:
        for version in versions(event_type):
            body = sample(event_type, version, job_id=job_id)
            if extra:
                body["data"]["added_later"] = {"x": 1}
                body["routing_hint"] = "ignored"
            publish_verbatim(aws.settings, topic, body)
            report = consumer.run_once()
            assert len(report.handled) == 1, report
            status = requests.get(
                f"{todo_api.base_url}/api/v1/todos/ical/{job_id}/status", timeout=5
            )
            assert status.json()["task_status"] == expected[event_type]


def test_the_calendar_request_it_emits_is_valid_and_routed_to_the_worker(
    aws: AwsWorld, todo_api: TodoApiStack
) -> None:
    sub = aws.subscription_into("ical-worker-todo-events.fifo")
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
