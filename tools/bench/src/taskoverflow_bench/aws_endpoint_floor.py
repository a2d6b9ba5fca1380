"""The part of a calendar job's latency and CPU that belongs to the AWS endpoint and boto3 rather
than to our code, measured with a bare client on the same endpoint so the rest can be told apart."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from taskoverflow_bench.client_timing import percentiles
from taskoverflow_bench.system import Stack
from taskoverflow_testing.plugin import aws_settings_for


def emulator_floor(stack: Stack, samples: int = 40) -> dict[str, Any]:
    """What the AWS endpoint alone costs, with a bare boto3 client and none of our code: one bus
    trip (publish to an SNS FIFO topic, long-poll receive from its SQS FIFO queue) and one S3
    put and get of a calendar-sized object. A calendar job makes three bus trips, one put and
    one get on its critical path, so this is the floor under its latency on this endpoint.

    It makes the same kinds of call our processes make (PublishBatch, ReceiveMessage,
    DeleteMessageBatch, PutObject, GetObject) and times the CPU each costs this thread: what the
    boto3 client itself costs per call, the part of our processes' CPU that is no code of ours."""
    aws = aws_settings_for(stack.endpoint, f"probe{uuid.uuid4().hex[:6]}-")
    sns, sqs, s3 = aws.client("sns"), aws.client("sqs"), aws.client("s3")
    topic = sns.create_topic(Name=f"{aws.name_prefix}trip.fifo", Attributes={"FifoTopic": "true"})[
        "TopicArn"
    ]
    queue = sqs.create_queue(
        QueueName=f"{aws.name_prefix}trip.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    bucket = f"{aws.name_prefix}floor"
    s3.create_bucket(Bucket=bucket)
    calendar = b"BEGIN:VEVENT\r\n" * 20_000  # about the size of 1,000 todos' calendar
    trips, puts, gets = [], [], []
    client_cpu: dict[str, list[float]] = {}

    def call(operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        cpu = time.thread_time()
        result = method(**kwargs)
        if operation == "s3.GetObject":
            result["Body"].read()
        client_cpu.setdefault(operation, []).append((time.thread_time() - cpu) * 1000)
        return result

    for i in range(samples):
        started = time.perf_counter()
        entry = {
            "Id": "0",
            "Message": "{}",
            "MessageGroupId": "probe",
            "MessageDeduplicationId": str(i),
        }
        call(
            "sns.PublishBatch",
            sns.publish_batch,
            TopicArn=topic,
            PublishBatchRequestEntries=[entry],
        )
        received = call(
            "sqs.ReceiveMessage",
            sqs.receive_message,
            QueueUrl=queue,
            WaitTimeSeconds=5,
            MessageAttributeNames=["All"],
        )["Messages"]
        trips.append((time.perf_counter() - started) * 1000)
        handle = {"Id": "0", "ReceiptHandle": received[0]["ReceiptHandle"]}
        call("sqs.DeleteMessageBatch", sqs.delete_message_batch, QueueUrl=queue, Entries=[handle])
        started = time.perf_counter()
        call("s3.PutObject", s3.put_object, Bucket=bucket, Key="c.ics", Body=calendar)
        puts.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        call("s3.GetObject", s3.get_object, Bucket=bucket, Key="c.ics")
        gets.append((time.perf_counter() - started) * 1000)
    return {
        "bus_trip_ms": percentiles(trips[5:]),
        "s3_put_ms": percentiles(puts[5:]),
        "s3_get_ms": percentiles(gets[5:]),
        "object_bytes": len(calendar),
        "client_cpu_ms_per_call": {
            operation: round(statistics.median(samples_ms[5:]), 3)
            for operation, samples_ms in client_cpu.items()
        },
    }
