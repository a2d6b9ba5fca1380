"""notifier as a consumer of CalendarGenerated and CalendarGenerationFailed (every sample
version, with and without unknown fields, through its own filtered subscription) and as the
producer of CalendarReady (valid, and routed to todo-api's queue)."""

import uuid
from collections.abc import Callable

import pytest
from notifier.bootstrap import build_consumer
from notifier.config import Settings

from taskoverflow_events import REGISTRY
from taskoverflow_testing.contracts import publish_verbatim, sample, validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies, run_until_handled

CONSUMED = ["CalendarGenerated", "CalendarGenerationFailed"]


@pytest.mark.parametrize("extra", [False, True], ids=["as-is", "with-unknown-fields"])
def test_notifier_reads_every_version_and_emits_valid_calendar_ready(
    aws: AwsWorld, postgres_database: Callable[[], str], extra: bool
) -> None:
    settings = Settings(database_url=postgres_database(), aws=aws.settings, consumer_wait_seconds=1)
    consumer = build_consumer(settings)
    topic = aws.topic_arn("calendar-events")
    sub = aws.subscription_into("todo-api-calendar-events")
    to_todo_api = TopicTap(aws.settings, topic, sub.filter_policy())
    sent = 0
    for event_type in CONSUMED:
        for version in [v for t, v, _ in REGISTRY if t == event_type]:
            body = sample(event_type, version, job_id=str(uuid.uuid4()), notify=None)
            if extra:
                body["data"]["added_later"] = True
            publish_verbatim(aws.settings, topic, body)
            sent += 1
    assert run_until_handled(consumer, sent) == sent
    ready = bodies(to_todo_api.read(sent, timeout=15))
    assert sorted(r["data"]["outcome"] for r in ready) == ["failure", "success"]
    for body in ready:
        validate_envelope(body)
        assert body["event_type"] == "CalendarReady"
        assert body["producer"] == "notifier"
