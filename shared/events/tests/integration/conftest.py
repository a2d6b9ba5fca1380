"""Queues on moto and a consumer over them, for the consumer's test modules. These are plain
functions imported from here (as tests/deploy imports its conftest), not fixtures: each test
asks for a queue of its own shape (FIFO or not, its visibility timeout, its receive limit)."""

import json
import uuid
from collections.abc import Callable

from taskoverflow_events import DecodedEvent, encode, new_envelope
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_testing.plugin import AwsWorld


def make_queue(aws: AwsWorld, *, fifo: bool, visibility: int = 30, max_receives: int = 3) -> str:
    sqs = aws.settings.client("sqs")
    suffix = ".fifo" if fifo else ""
    base = f"{aws.settings.name_prefix}c{uuid.uuid4().hex[:6]}"
    fifo_attr = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{base}-dlq{suffix}", Attributes=fifo_attr)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    return sqs.create_queue(
        QueueName=f"{base}{suffix}",
        Attributes={**fifo_attr, "VisibilityTimeout": str(visibility), "RedrivePolicy": redrive},
    )["QueueUrl"]


def send(aws: AwsWorld, url: str, body: str, group: str | None = None) -> None:
    kwargs: dict[str, str] = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        kwargs |= {"MessageGroupId": group or "g", "MessageDeduplicationId": uuid.uuid4().hex}
    aws.settings.client("sqs").send_message(**kwargs)


def event_body(owner: str = "alice") -> str:
    payload = CalendarGenerationStartedV1(job_id=uuid.uuid4())
    return encode(new_envelope(payload, producer="test", owner=owner))


def count(aws: AwsWorld, url: str) -> int:
    attrs = aws.settings.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def dlq_of(aws: AwsWorld, url: str) -> str:
    return url.replace(".fifo", "-dlq.fifo") if url.endswith(".fifo") else url + "-dlq"


def consumer(
    aws: AwsWorld, url: str, handler: Callable[[DecodedEvent], None], **kw: object
) -> QueueConsumer:
    return QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": handler},
        wait_time_seconds=1,
        **kw,  # type: ignore[arg-type]
    )
