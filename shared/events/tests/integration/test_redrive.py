"""The redrive command's portable path against a real SQS API (moto server over HTTP)."""

from __future__ import annotations

import threading
import time
import uuid

from taskoverflow_events.redrive import redrive
from taskoverflow_testing.plugin import AwsWorld


def dead_letter_pair(aws: AwsWorld, *, fifo: bool) -> tuple[str, str]:
    sqs = aws.settings.client("sqs")
    suffix = ".fifo" if fifo else ""
    attrs = {"FifoQueue": "true"} if fifo else {}
    base = f"{aws.settings.name_prefix}r{uuid.uuid4().hex[:6]}"
    dlq = sqs.create_queue(QueueName=f"{base}-dlq{suffix}", Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = f'{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": "3"}}'
    source = sqs.create_queue(
        QueueName=f"{base}{suffix}", Attributes={**attrs, "RedrivePolicy": policy}
    )["QueueUrl"]
    return source, dlq


def test_a_fifo_dlq_is_moved_back_in_order_keeping_groups_and_dropping_the_reason(
    aws: AwsWorld,
) -> None:
    sqs = aws.settings.client("sqs")
    source, dlq = dead_letter_pair(aws, fifo=True)
    for n in range(13):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=f"body {n}",
            MessageGroupId="alice" if n % 2 else "bob",
            # The id the original had: a copy under the same one would be dropped as a repeat.
            MessageDeduplicationId=f"event-{n}",
            MessageAttributes={
                "event_type": {"DataType": "String", "StringValue": "TodoChanged"},
                "dead_letter_reason": {"DataType": "String", "StringValue": "a bug, since fixed"},
            },
        )
    result = redrive(sqs, dlq)
    assert (result.moved, result.method, result.source_url) == (13, "receive-send-delete", source)
    got = []
    for _ in range(10):
        batch = sqs.receive_message(
            QueueUrl=source,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        for m in batch:
            got.append((m["Attributes"]["MessageGroupId"], m["Body"], set(m["MessageAttributes"])))
            sqs.delete_message(QueueUrl=source, ReceiptHandle=m["ReceiptHandle"])
        if len(got) == 13:
            break
    assert [b for g, b, _ in got if g == "alice"] == [f"body {n}" for n in range(1, 13, 2)]
    assert [b for g, b, _ in got if g == "bob"] == [f"body {n}" for n in range(0, 13, 2)]
    assert all(names == {"event_type"} for _, _, names in got)
    empty = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert empty["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_standard_dlq_falls_back_where_the_move_task_is_missing_and_honours_max(
    aws: AwsWorld,
) -> None:
    sqs = aws.settings.client("sqs")
    source, dlq = dead_letter_pair(aws, fifo=False)
    for n in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{n}")
    first = redrive(sqs, dlq, limit=2)
    assert first.moved == 2
    rest = redrive(sqs, dlq)
    assert rest.moved == 3
    assert rest.source_url == source
    assert rest.method in ("move-task", "receive-send-delete")


def test_a_redrive_ends_when_what_it_moved_comes_straight_back(aws: AwsWorld) -> None:
    """Still poison: a consumer dead-letters each redriven message again at once. The redrive
    moves what the DLQ held when it began, and ends."""
    sqs = aws.settings.client("sqs")
    source, dlq = dead_letter_pair(aws, fifo=False)
    for n in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"poison {n}")
    done = threading.Event()
    sent_back = []

    def consumer_that_dead_letters_again() -> None:
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            for m in sqs.receive_message(
                QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                sqs.send_message(QueueUrl=dlq, MessageBody=m["Body"])
                sqs.delete_message(QueueUrl=source, ReceiptHandle=m["ReceiptHandle"])
                sent_back.append(m["Body"])

    consumer = threading.Thread(target=consumer_that_dead_letters_again)
    consumer.start()
    try:
        result = redrive(sqs, dlq, prefer_move_task=False)
    finally:
        done.set()
        consumer.join()
    assert result.moved == 3, "each message once: what was there when the redrive began"
    assert sent_back, "the messages did come straight back while it ran"
