"""AWS's limits, at and one past each, on the quota gate and on the emulator where it enforces.

The gate is how `make test` refuses what AWS refuses; checking it against the same numbers here,
and against LocalStack's own refusals in CI's LocalStack leg (where LocalStack enforces the
limit), shows that it draws the line where AWS does. moto enforces only some of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from taskoverflow_events import quotas
from taskoverflow_testing.plugin import AwsEndpoint, aws_settings_for
from taskoverflow_testing.quota_gate import QuotaGate

ATTRIBUTE = {"event_type": {"DataType": "String", "StringValue": "TodoChanged"}}
# AWS counts an attribute's name, data type and value: "event_type", "String", "TodoChanged".
# Written out by hand, so the gate (which uses quotas.py's count) is held to the documented rule.
ATTRIBUTE_BYTES = 10 + 6 + 11


@dataclass(frozen=True)
class Limit:
    name: str
    # Sends a payload `over` bytes/entries/attributes past the limit (0: exactly at it).
    send: Callable[[Any, Any, int], None]
    refusal: str
    enforced_by: frozenset[str]  # emulators that refuse it themselves, without the gate


def _topic(sns: Any, **attributes: str) -> str:
    name = f"limit-{uuid.uuid4().hex[:10]}.fifo"
    attrs = {"FifoTopic": "true", **attributes}
    return str(sns.create_topic(Name=name, Attributes=attrs)["TopicArn"])


def _entries(count: int, total_bytes: int) -> list[dict[str, Any]]:
    """`count` FIFO entries whose sizes (body plus one attribute) add up to `total_bytes`."""
    each, extra = divmod(total_bytes, count)
    group = uuid.uuid4().hex
    return [
        {
            "Id": str(i),
            "Message": "x" * (each + (extra if i == count - 1 else 0) - ATTRIBUTE_BYTES),
            "MessageAttributes": ATTRIBUTE,
            "MessageGroupId": group,
            "MessageDeduplicationId": uuid.uuid4().hex,
        }
        for i in range(count)
    ]


def sns_batch_bytes(sns: Any, _sqs: Any, over: int) -> None:
    entries = _entries(3, quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES + over)
    sns.publish_batch(TopicArn=_topic(sns), PublishBatchRequestEntries=entries)


def sns_message_bytes(sns: Any, _sqs: Any, over: int) -> None:
    body = "é" * ((quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES - ATTRIBUTE_BYTES) // 2)
    body += "x" * (quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES - ATTRIBUTE_BYTES - len(body.encode()))
    sns.publish(
        TopicArn=_topic(sns),
        Message=body + "x" * over,
        MessageAttributes=ATTRIBUTE,
        MessageGroupId="g",
        MessageDeduplicationId=uuid.uuid4().hex,
    )


def sns_topic_own_limit(sns: Any, _sqs: Any, over: int) -> None:
    arn = _topic(sns, MaximumMessageSize="2048")
    sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=_entries(2, 2048 + over))


def sns_batch_entries(sns: Any, _sqs: Any, over: int) -> None:
    entries = _entries(quotas.MAX_BATCH_ENTRIES + over, 5_000)
    sns.publish_batch(TopicArn=_topic(sns), PublishBatchRequestEntries=entries)


def _attributes(count: int) -> dict[str, dict[str, str]]:
    return {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(count)}


def sns_attributes(sns: Any, _sqs: Any, over: int) -> None:
    sns.publish(
        TopicArn=_topic(sns),
        Message="x",
        MessageAttributes=_attributes(quotas.MAX_MESSAGE_ATTRIBUTES + over),
        MessageGroupId="g",
        MessageDeduplicationId=uuid.uuid4().hex,
    )


def _queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"limit-{uuid.uuid4().hex[:10]}")["QueueUrl"])


def sqs_batch_bytes(_sns: Any, sqs: Any, over: int) -> None:
    total = quotas.SQS_CEILING_MAX_MESSAGE_BYTES + over
    bodies = ["y" * (total // 2), "y" * (total - total // 2)]
    sqs.send_message_batch(
        QueueUrl=_queue(sqs),
        Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)],
    )


def sqs_message_bytes(_sns: Any, sqs: Any, over: int) -> None:
    sqs.send_message(
        QueueUrl=_queue(sqs), MessageBody="y" * (quotas.SQS_CEILING_MAX_MESSAGE_BYTES + over)
    )


def sqs_batch_entries(_sns: Any, sqs: Any, over: int) -> None:
    entries = [{"Id": str(i), "MessageBody": "y"} for i in range(quotas.MAX_BATCH_ENTRIES + over)]
    sqs.send_message_batch(QueueUrl=_queue(sqs), Entries=entries)


def sqs_attributes(_sns: Any, sqs: Any, over: int) -> None:
    sqs.send_message(
        QueueUrl=_queue(sqs),
        MessageBody="y",
        MessageAttributes=_attributes(quotas.MAX_MESSAGE_ATTRIBUTES + over),
    )


MOTO, LOCALSTACK = "moto", "localstack"
LIMITS = [
    Limit("sns-batch-bytes", sns_batch_bytes, "BatchRequestTooLong", frozenset({LOCALSTACK})),
    Limit("sns-message-bytes", sns_message_bytes, "InvalidParameter", frozenset({LOCALSTACK})),
    Limit("sns-topic-own-limit", sns_topic_own_limit, "BatchRequestTooLong", frozenset()),
    Limit(
        "sns-batch-entries",
        sns_batch_entries,
        "TooManyEntriesInBatchRequest",
        frozenset({MOTO, LOCALSTACK}),
    ),
    Limit("sns-attributes", sns_attributes, "InvalidParameter", frozenset()),
    Limit("sqs-batch-bytes", sqs_batch_bytes, "BatchRequestTooLong", frozenset({MOTO, LOCALSTACK})),
    Limit(
        "sqs-message-bytes",
        sqs_message_bytes,
        "InvalidParameterValue",
        frozenset({MOTO, LOCALSTACK}),
    ),
    Limit(
        "sqs-batch-entries",
        sqs_batch_entries,
        "TooManyEntriesInBatchRequest",
        frozenset({MOTO, LOCALSTACK}),
    ),
    Limit("sqs-attributes", sqs_attributes, "InvalidParameterValue", frozenset()),
]
# CI's LocalStack leg points the tests at LocalStack; otherwise they start a moto server.
EMULATOR = LOCALSTACK if os.environ.get("TASKOVERFLOW_TEST_AWS_ENDPOINT") else MOTO
CASES = [
    pytest.param(limit, via, id=f"{limit.name}-{via}")
    for limit in LIMITS
    for via in ["gate", *([EMULATOR] if EMULATOR in limit.enforced_by else [])]
]


def refusal_code(exc: ClientError) -> str:
    """The error code without the SQS query-compatibility prefix."""
    return str(exc.response["Error"]["Code"]).removeprefix("AWS.SimpleQueueService.")


@pytest.mark.parametrize(("limit", "via"), CASES)
def test_at_the_limit_is_accepted_and_one_past_it_refused(
    limit: Limit, via: str, aws_endpoint: AwsEndpoint, quota_gate: QuotaGate
) -> None:
    url = quota_gate.endpoint_url if via == "gate" else aws_endpoint.url
    settings = aws_settings_for(url)
    sns, sqs = settings.client("sns"), settings.client("sqs")
    limit.send(sns, sqs, 0)
    with pytest.raises(ClientError) as refused:
        limit.send(sns, sqs, 1)
    assert refusal_code(refused.value) == limit.refusal
