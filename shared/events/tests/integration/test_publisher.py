import json
import uuid

from taskoverflow_events import new_envelope
from taskoverflow_events.publisher import OutgoingMessage, Publisher
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies


def started(owner: str) -> OutgoingMessage:
    return OutgoingMessage.from_envelope(
        new_envelope(CalendarGenerationStartedV1(job_id=uuid.uuid4()), producer="test", owner=owner)
    )


def test_a_batch_larger_than_ten_goes_out_whole_and_in_order_per_owner(aws: AwsWorld) -> None:
    arn = aws.topic_arn("todo-events.fifo")
    tap = TopicTap(aws.settings, arn)
    messages = [started(owner) for _ in range(12) for owner in ("alice", "bob")]
    outcome = Publisher(aws.settings.client("sns"), arn).publish_messages(messages)
    assert outcome.failed == {}
    assert outcome.published == [m.event_id for m in messages]
    received = tap.read(len(messages), settle=1.0)
    assert len(received) == len(messages)
    for owner in ("alice", "bob"):
        sent = [str(m.event_id) for m in messages if m.owner == owner]
        got = [b["event_id"] for b in bodies(received) if b["owner"] == owner]
        assert got == sent
    attrs = received[0]["MessageAttributes"]
    assert attrs["event_type"]["StringValue"] == "CalendarGenerationStarted"


def test_republishing_the_same_event_is_deduplicated_by_event_id(aws: AwsWorld) -> None:
    arn = aws.topic_arn("todo-events.fifo")
    tap = TopicTap(aws.settings, arn)
    message = started("carol")
    publisher = Publisher(aws.settings.client("sns"), arn)
    publisher.publish_messages([message])
    publisher.publish_messages([message])
    received = tap.read(1, settle=1.5)
    assert [json.loads(m["Body"])["event_id"] for m in received] == [str(message.event_id)]
