"""Observe what really went over SNS: a queue subscribed to a topic, read until a count arrives."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from taskoverflow_events.aws import AwsSettings
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.consumer_group import ConsumerGroup


class TopicTap:
    """A raw-delivery queue subscribed to a topic, optionally with the same filter as a service."""

    def __init__(self, aws: AwsSettings, topic_arn: str, filter_policy: str | None = None) -> None:
        self._sqs = aws.client("sqs")
        sns = aws.client("sns")
        fifo = topic_arn.endswith(".fifo")
        name = f"tap-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attrs = {"FifoQueue": "true"} if fifo else {}
        self.url = self._sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sub_attrs = {"RawMessageDelivery": "true"}
        if filter_policy:
            sub_attrs["FilterPolicy"] = filter_policy
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=sub_attrs)

    def read(self, count: int, timeout: float = 20.0, settle: float = 0.0) -> list[dict[str, Any]]:
        """Receive and delete until `count` messages arrived, then keep listening `settle` seconds
        to catch any extra (a duplicate) that should not be there."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while time.monotonic() < deadline:
            if len(messages) >= count:
                settle_until = settle_until or time.monotonic() + settle
                if time.monotonic() >= settle_until:
                    break
            response = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            )
            for message in response.get("Messages", []):
                messages.append(message)
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return messages


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in messages]


def run_until_handled(
    consumer: QueueConsumer | ConsumerGroup, expected: int, *, rounds: int = 10
) -> int:
    """Run a consumer's batches until `expected` messages were handled (or `rounds` ran out).
    A group's consumers take a batch each per round, in the group's order (the ical-worker's
    changes before its calendar requests)."""
    consumers = consumer.consumers if isinstance(consumer, ConsumerGroup) else [consumer]
    handled = 0
    for _ in range(rounds):
        for one in consumers:
            handled += len(one.run_once().handled)
        if handled >= expected:
            break
    return handled
