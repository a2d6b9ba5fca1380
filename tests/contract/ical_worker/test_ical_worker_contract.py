"""ical-worker as a consumer of TodoChanged and CalendarRequested (every sample version, with and
without unknown fields, through the FIFO topic and its own filtered subscription) and as a
producer of CalendarGenerationStarted and CalendarGenerated (valid, and routed by the filters
of the notifier's and todo-api's subscriptions)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ical_worker.bootstrap import build_consumer
from ical_worker.config import Settings

from taskoverflow_events import REGISTRY
from taskoverflow_testing.contracts import publish_verbatim, sample, validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.queues import TopicTap, bodies, run_until_handled

OWNER = "contract-owner"


def stream(
    event_type: str, version: int, sequence: int, extra: bool, **data: Any
) -> dict[str, Any]:
    body = sample(event_type, version, **data)
    body["owner"], body["sequence"] = OWNER, sequence
    if extra:
        body["data"]["added_later"] = [1, 2]
        body["trace"] = "ignored"
    return body


@pytest.mark.parametrize("extra", [False, True], ids=["as-is", "with-unknown-fields"])
def test_ical_worker_reads_every_version_and_emits_valid_routable_events(
    aws: AwsWorld, postgres_database: Callable[[], str], extra: bool
) -> None:
    settings = Settings(
        database_url=postgres_database(),
        aws=aws.settings,
        todo_api_url=f"http://127.0.0.1:{free_port()}",  # never needed: no gap in this stream
        consumer_wait_seconds=1,
    )
    consumer = build_consumer(settings)
    topic = aws.topic_arn("todo-events.fifo")
    out = TopicTap(aws.settings, aws.topic_arn("calendar-events"))
    sequence = 0
    for version in [v for t, v, _ in REGISTRY if t == "TodoChanged"]:
        sequence += 1
        publish_verbatim(aws.settings, topic, stream("TodoChanged", version, sequence, extra))
    for version in [v for t, v, _ in REGISTRY if t == "CalendarRequested"]:
        sequence += 1
        # Asked just now: the sample's own deadline passed long ago, which would fail the job.
        due = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        body = stream(
            "CalendarRequested", version, sequence, extra, as_of=sequence - 1, deadline_at=due
        )
        publish_verbatim(aws.settings, topic, body)
    assert run_until_handled(consumer, sequence) == sequence
    # calendar-events is a standard topic: SNS may deliver the two in either order, and todo-api
    # copes with a late Started (test_a_late_started_event_cannot_move_a_finished_job_back).
    emitted = bodies(out.read(2, timeout=15))
    by_type = {b["event_type"]: b for b in emitted}
    assert sorted(by_type) == ["CalendarGenerated", "CalendarGenerationStarted"], emitted
    routes = {
        s.queue.removeprefix(aws.settings.name_prefix): s.event_types
        for s in aws.topology.subscriptions
    }
    for body in emitted:
        validate_envelope(body)
        assert body["producer"] == "ical-worker"
        assert body["owner"] == OWNER
        subscribers = [queue for queue, types in routes.items() if body["event_type"] in types]
        assert subscribers, f"{body['event_type']} reaches no queue"
    generated = by_type["CalendarGenerated"]["data"]
    assert generated["event_count"] == 1, "the sample todo has a deadline"
    # What the request asked of the notifier travels on: its callback and which secrets sign.
    asked = sample("CalendarRequested")["data"]
    assert (generated["notify"], generated["signing"]) == (asked["notify"], asked["signing"])
