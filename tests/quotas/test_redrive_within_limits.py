"""Redriving a dead-letter queue of large messages: ten of them can be more than one
SendMessageBatch may carry (1 MiB in all), so the copy is cut by bytes as well as by count."""

from __future__ import annotations

import json
import uuid

from taskoverflow_events import quotas
from taskoverflow_events.redrive import redrive
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.quota_gate import QuotaGate


def test_large_dead_letters_go_back_in_calls_that_fit(
    gated_aws: AwsWorld, quota_gate: QuotaGate
) -> None:
    sqs = gated_aws.settings.client("sqs")
    base = f"{gated_aws.settings.name_prefix}big{uuid.uuid4().hex[:6]}"
    dlq = sqs.create_queue(QueueName=f"{base}-dlq.fifo", Attributes={"FifoQueue": "true"})
    dlq_url = dlq["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = sqs.create_queue(
        QueueName=f"{base}.fifo",
        Attributes={
            "FifoQueue": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    # Three messages of 400 KB: together over the 1 MiB one batch may carry.
    bodies = [f"{n}" + "x" * 400_000 for n in range(3)]
    for body in bodies:
        sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody=body,
            MessageGroupId="alice",
            MessageDeduplicationId=uuid.uuid4().hex,
        )
    assert quotas.SQS_CEILING_MAX_MESSAGE_BYTES < 3 * 400_000
    moved = redrive(sqs, dlq_url, source_url=source)
    assert moved.moved == 3
    assert quota_gate.refusals == []
    got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [m["Body"] for m in got["Messages"]] == bodies, "all back, in the group's order"
