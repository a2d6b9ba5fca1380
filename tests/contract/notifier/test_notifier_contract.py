"""notifier as a consumer of CalendarGenerated and CalendarGenerationFailed (every sample
version, with and without unknown fields, through its own filtered subscription) and as the
producer of CalendarReady: valid against the committed schemas, in the version it is told to write
(v1 by default, v2 with EVENT_WRITE_VERSIONS), and routed to todo-api's queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from notifier.bootstrap import NotifierProcess, build_notifier
from notifier.config import Settings

from taskoverflow_events import REGISTRY
from taskoverflow_events.callback_urls import parse_networks
from taskoverflow_testing.contracts import publish_verbatim, sample, validate_envelope
from taskoverflow_testing.http_servers import webhook_receiver
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies, run_until_handled

CONSUMED = ["CalendarGenerated", "CalendarGenerationFailed"]


def ready_to_todo_api(aws: AwsWorld) -> TopicTap:
    """CalendarReady as todo-api's subscription routes it (which takes other events too)."""
    policy = json.loads(aws.subscription_into("todo-api-calendar-events").filter_policy())
    assert "CalendarReady" in policy["event_type"]
    only_ready = json.dumps({"event_type": ["CalendarReady"]})
    return TopicTap(aws.settings, aws.topic_arn("calendar-events"), only_ready)


def publish_samples(aws: AwsWorld, *, notify: str | None, extra: bool = False) -> int:
    sent = 0
    for event_type in CONSUMED:
        for version in [v for t, v, _ in REGISTRY if t == event_type]:
            body = sample(event_type, version, job_id=str(uuid.uuid4()), notify=notify)
            if extra:
                body["data"]["added_later"] = True
            publish_verbatim(aws.settings, aws.topic_arn("calendar-events"), body)
            sent += 1
    return sent


@pytest.fixture
def notifier(
    aws: AwsWorld, postgres_database: Callable[[], str]
) -> Iterator[Callable[..., NotifierProcess]]:
    """The real notifier process parts; the dispatcher runs, the consumer is driven by the test."""
    built: list[NotifierProcess] = []

    def build(**settings: Any) -> NotifierProcess:
        process = build_notifier(
            Settings(
                database_url=postgres_database(),
                aws=aws.settings,
                consumer_wait_seconds=1,
                webhook_signing_key="contract-signing-key-" + "k" * 32,
                callback_allowed_networks=parse_networks("127.0.0.0/8"),
                **settings,
            ),
            poll_seconds=0.1,
        )
        process.dispatcher.start()
        built.append(process)
        return process

    yield build
    for process in built:
        process.dispatcher.stop(timeout=10)


@pytest.mark.parametrize("extra", [False, True], ids=["as-is", "with-unknown-fields"])
def test_notifier_reads_every_version_and_emits_valid_calendar_ready(
    aws: AwsWorld, notifier: Callable[..., NotifierProcess], extra: bool
) -> None:
    consumer = notifier().consumer
    to_todo_api = ready_to_todo_api(aws)
    sent = publish_samples(aws, notify=None, extra=extra)
    assert run_until_handled(consumer, sent) == sent
    ready = bodies(to_todo_api.read(sent, timeout=15))
    assert sorted(r["data"]["outcome"] for r in ready) == ["failure", "success"]
    for body in ready:
        validate_envelope(body)
        assert (body["event_type"], body["schema_version"]) == ("CalendarReady", 1)
        assert body["producer"] == "notifier"


@pytest.mark.parametrize("version", [1, 2])
def test_notifier_reports_a_webhook_in_the_calendar_ready_version_it_writes(
    aws: AwsWorld, notifier: Callable[..., NotifierProcess], version: int
) -> None:
    process = notifier(write_versions={"CalendarReady": version})
    to_todo_api = ready_to_todo_api(aws)
    with webhook_receiver([204]) as hook:
        sent = publish_samples(aws, notify=hook.url)
        sent += publish_samples(aws, notify=None)
        assert run_until_handled(process.consumer, sent) == sent
        expected = sent if version == 1 else sent // 2  # v2: nothing without a webhook
        ready = bodies(to_todo_api.read(expected, timeout=20, settle=1.0))
    assert len(hook.received) == sent // 2
    assert len(ready) == expected
    notified = [r for r in ready if r["data"].get("notification")]
    assert len(notified) == sent // 2
    for body in ready:
        validate_envelope(body)
        assert (body["event_type"], body["schema_version"]) == ("CalendarReady", version)
    for body in notified:
        assert body["data"]["notification"]["delivered"] is True
        if version == 2:
            assert body["data"]["notification"]["delivery_id"] == body["causation_id"]
