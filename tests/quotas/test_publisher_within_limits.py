"""The publisher cuts its calls to fit the topic's limits, and a refusal costs only its culprit
and that owner's later messages, on an endpoint that refuses what AWS refuses."""

from __future__ import annotations

import uuid

import pytest

from taskoverflow_events import new_envelope, quotas
from taskoverflow_events.publisher import OutgoingMessage, Publisher, PublishInterrupted
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1
from taskoverflow_events.transport import attributes_for
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from taskoverflow_testing.quota_gate import QuotaGate

TOPIC = "todo-events.fifo"


def message(owner: str, weight: int = 0) -> OutgoingMessage:
    """An event of `owner` padded so that its message weighs `weight` bytes (if given)."""
    small = OutgoingMessage.from_envelope(
        new_envelope(CalendarGenerationStartedV1(job_id=uuid.uuid4()), producer="t", owner=owner)
    )
    if not weight:
        return small
    head = small.body[:-1] + ',"padding":"'
    room = weight - quotas.message_bytes(head + '"}', attributes_for(small))
    body = head + "😀" * (room // 4) + "x" * (room % 4) + '"}'
    padded = OutgoingMessage(
        small.event_id, small.event_type, small.schema_version, owner, body=body
    )
    assert quotas.message_bytes(padded.body, attributes_for(padded)) == weight
    return padded


def test_nine_large_events_that_cannot_share_one_call_all_go_out_in_order(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    tap = TopicTap(gated_aws.settings, arn)
    # The relay's stuck chunk: nine 42 KB events are 378 KB, over the 256 KiB a call may carry.
    messages = [message("alice", 42_000) for _ in range(9)]
    outcome = Publisher(gated_aws.settings.client("sns"), arn).publish_messages(messages)
    assert outcome.failed == {}
    assert outcome.published == [m.event_id for m in messages]
    assert quota_gate.refusals == [], "the publisher sent a call SNS would refuse"
    received = bodies(tap.read(9, timeout=20))
    assert [b["event_id"] for b in received] == [str(m.event_id) for m in messages]


def test_a_call_that_adds_up_to_exactly_the_limit_is_one_call(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    sns = gated_aws.settings.client("sns")
    calls: list[int] = []
    sns.meta.events.register("before-call.sns.PublishBatch", lambda **kw: calls.append(1))
    exact = [message("bob", quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES // 4) for _ in range(4)]
    assert Publisher(sns, arn).publish_messages(exact).failed == {}
    one_more = [*exact[:3], message("bob", quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES // 4 + 1)]
    assert Publisher(sns, arn).publish_messages(one_more).failed == {}
    assert quota_gate.refusals == []
    assert len(calls) == 1 + 2, "at the limit one call, one byte past it two"


def test_the_topics_own_maximum_message_size_is_read_and_honoured(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    sns = gated_aws.settings.client("sns")
    arn = sns.create_topic(
        Name=f"small-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoTopic": "true", "MaximumMessageSize": "4096"},
    )["TopicArn"]
    publisher = Publisher(sns, arn)
    outcome = publisher.publish_messages([message("carol", 1500) for _ in range(6)])
    assert publisher.max_message_bytes == 4096
    assert outcome.failed == {}
    assert len(outcome.published) == 6
    assert quota_gate.refusals == []


def test_a_refused_call_is_split_until_only_the_oversized_entry_fails(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    tap = TopicTap(gated_aws.settings, arn)
    # The publisher believes the topic takes 1 MiB; it takes 256 KiB, so SNS refuses the call.
    publisher = Publisher(gated_aws.settings.client("sns"), arn, max_message_bytes=1_048_576)
    dan_1, dan_2 = message("dan"), message("dan")
    too_big = message("erin", quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES + 1)
    erin_later, fay = message("erin"), message("fay")
    outcome = publisher.publish_messages([dan_1, too_big, dan_2, erin_later, fay])
    assert "BatchRequestTooLong" in quota_gate.refusals
    assert list(outcome.failed) == [too_big.event_id]
    assert outcome.held_back == [erin_later.event_id], "erin's later event waits for her first"
    assert outcome.published == [dan_1.event_id, dan_2.event_id, fay.event_id]
    received = {b["event_id"] for b in bodies(tap.read(3, timeout=20, settle=1.0))}
    assert received == {str(dan_1.event_id), str(dan_2.event_id), str(fay.event_id)}


def test_an_entry_sns_refuses_holds_back_its_groups_later_entries_and_nothing_else(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    tap = TopicTap(gated_aws.settings, arn)
    gina_1, gina_2, gina_3 = message("gina"), message("gina"), message("gina")
    hal_1, hal_2 = message("hal"), message("hal")
    # SNS fails gina's first entry on its own (as it reports a KMS or internal error per
    # entry) and accepts the rest of the call, gina's later entries included.
    quota_gate.refuse_entry = lambda e: (
        "KMSThrottling" if str(gina_1.event_id) in e["Message"] else None
    )
    publisher = Publisher(gated_aws.settings.client("sns"), arn)
    outcome = publisher.publish_messages([gina_1, hal_1, gina_2, hal_2, gina_3])
    assert list(outcome.failed) == [gina_1.event_id]
    assert "KMSThrottling" in outcome.failed[gina_1.event_id]
    assert "transient" in outcome.failed[gina_1.event_id], "SenderFault false is SNS's fault"
    assert outcome.held_back == [gina_2.event_id, gina_3.event_id]
    assert outcome.published == [hal_1.event_id, hal_2.event_id]
    arrived = bodies(tap.read(4, timeout=20, settle=1.0))
    assert [b["event_id"] for b in arrived if b["owner"] == "hal"] == [
        str(hal_1.event_id),
        str(hal_2.event_id),
    ]


def test_an_outage_partway_reports_what_went_out_before_it(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    publisher = Publisher(gated_aws.settings.client("sns"), arn)
    messages = [message(f"owner-{i % 3}") for i in range(25)]  # three calls of ten, ten, five
    quota_gate.outage("PublishBatch", after=1)
    with pytest.raises(PublishInterrupted) as interrupted:
        publisher.publish_messages(messages)
    assert interrupted.value.outcome.published == [m.event_id for m in messages[:10]]
    assert interrupted.value.outcome.failed == {}


def test_publishing_stops_before_the_next_call_once_told_to(gated_aws: AwsWorld) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    publisher = Publisher(gated_aws.settings.client("sns"), arn)
    messages = [message("ivy") for _ in range(25)]
    answers = iter([True, False])
    outcome = publisher.publish_messages(messages, may_continue=lambda: next(answers))
    assert outcome.published == [m.event_id for m in messages[:10]]
    assert (outcome.failed, outcome.held_back) == ({}, [])


def test_a_check_that_fails_between_calls_still_reports_what_went_out(gated_aws: AwsWorld) -> None:
    """The relay's check is its lease, on the database: should the database be away between two
    calls, the first call's events must be reported published, or they go out again."""
    arn = gated_aws.topic_arn(TOPIC)
    publisher = Publisher(gated_aws.settings.client("sns"), arn)
    messages = [message("jo") for _ in range(25)]
    answers = iter([True])

    def lease_held() -> bool:
        return next(answers)  # the second check raises, as a lost database would

    with pytest.raises(PublishInterrupted) as interrupted:
        publisher.publish_messages(messages, may_continue=lease_held)
    assert interrupted.value.outcome.published == [m.event_id for m in messages[:10]]


def test_a_refused_change_does_not_hold_back_its_owners_calendar_request(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    """A request travels in a FIFO group of its own (`<owner>#calendars`), so a refusal in the
    owner's changes holds back the changes after it, not the request."""
    arn = gated_aws.topic_arn(TOPIC)
    change_1, change_2 = message("gus"), message("gus")
    request = OutgoingMessage.from_envelope(
        new_envelope(CalendarRequestedV1(job_id=uuid.uuid4(), as_of=2), producer="t", owner="gus")
    )
    quota_gate.refuse_entry = lambda e: (
        "KMSThrottling" if str(change_1.event_id) in e["Message"] else None
    )
    outcome = Publisher(gated_aws.settings.client("sns"), arn).publish_messages(
        [change_1, change_2, request]
    )
    assert list(outcome.failed) == [change_1.event_id]
    assert outcome.held_back == [change_2.event_id]
    assert outcome.published == [request.event_id]
