"""Create the topology from infra/topology.yaml on whatever AWS_ENDPOINT_URL points at.

Idempotent: run it any number of times; each resource is reported as created or already there
(its attributes brought back to what the file says). Dead-letter queues are made before the
queues that redrive into them, and queues before the subscriptions that deliver into them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from taskoverflow_events import topology as topo
from taskoverflow_events.aws import AwsSettings

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


class Bootstrap:
    def __init__(self, aws: AwsSettings, report: Callable[[str], None] = print) -> None:
        self._sns = aws.client("sns")
        self._sqs = aws.client("sqs")
        self._s3 = aws.client("s3")
        self._region = aws.region
        self._report = report

    def apply(self, topology: topo.Topology) -> None:
        queue_arns: dict[str, str] = {}
        for queue in topology.queues:
            dlq_attrs = {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
            dlq_url = self._queue(queue.dead_letter_queue, queue.fifo, dlq_attrs)
            dlq_arn = self._queue_arn(dlq_url)
            attrs = {
                "VisibilityTimeout": str(queue.visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": dlq_arn,
                        "maxReceiveCount": str(queue.max_receive_count),
                    }
                ),
            }
            queue_arns[queue.name] = self._queue_arn(self._queue(queue.name, queue.fifo, attrs))
        topic_arns = {t.name: self._topic(t) for t in topology.topics}
        for queue in topology.queues:
            sources = [topic_arns[s.topic] for s in topology.subscriptions if s.queue == queue.name]
            self._allow_topics(queue.name, queue_arns[queue.name], sources)
        for sub in topology.subscriptions:
            self._subscription(sub, topic_arns[sub.topic], queue_arns[sub.queue])
        self._bucket(topology)

    # -- queues ----------------------------------------------------------------------------

    def _queue(self, name: str, fifo: bool, attrs: dict[str, str]) -> str:
        desired = dict(attrs)
        if fifo:
            desired["FifoQueue"] = "true"
        try:
            url = str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except self._sqs.exceptions.QueueDoesNotExist:
            url = str(self._sqs.create_queue(QueueName=name, Attributes=desired)["QueueUrl"])
            self._report(f"created  queue         {name}")
            return url
        desired.pop("FifoQueue", None)  # immutable after creation
        self._sqs.set_queue_attributes(QueueUrl=url, Attributes=desired)
        self._report(f"exists   queue         {name}")
        return url

    def _queue_arn(self, url: str) -> str:
        attrs = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attrs["Attributes"]["QueueArn"])

    def _allow_topics(self, name: str, queue_arn: str, topic_arns: list[str]) -> None:
        """Only its own topics may send to a queue (ignored by emulators, enforced by AWS)."""
        if not topic_arns:
            return
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowOwnTopics",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arns}},
                }
            ],
        }
        url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self._sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})

    # -- topics and subscriptions ----------------------------------------------------------

    def _topic(self, topic: topo.Topic) -> str:
        existing = {
            t["TopicArn"].rsplit(":", 1)[-1]: t["TopicArn"]
            for page in self._sns.get_paginator("list_topics").paginate()
            for t in page["Topics"]
        }
        if topic.name in existing:
            self._report(f"exists   topic         {topic.name}")
            return str(existing[topic.name])
        attrs = {"FifoTopic": "true"} if topic.fifo else {}
        arn = str(self._sns.create_topic(Name=topic.name, Attributes=attrs)["TopicArn"])
        self._report(f"created  topic         {topic.name}")
        return arn

    def _subscription(self, sub: topo.Subscription, topic_arn: str, queue_arn: str) -> None:
        attrs = {
            "RawMessageDelivery": "true" if sub.raw_message_delivery else "false",
            "FilterPolicy": sub.filter_policy(),
            "FilterPolicyScope": "MessageAttributes",
        }
        label = f"{sub.topic} -> {sub.queue} {list(sub.event_types)}"
        for page in self._sns.get_paginator("list_subscriptions_by_topic").paginate(
            TopicArn=topic_arn
        ):
            for existing in page["Subscriptions"]:
                if existing["Endpoint"] == queue_arn:
                    for key, value in attrs.items():
                        self._sns.set_subscription_attributes(
                            SubscriptionArn=existing["SubscriptionArn"],
                            AttributeName=key,
                            AttributeValue=value,
                        )
                    self._report(f"exists   subscription  {label}")
                    return
        self._sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes=attrs,
            ReturnSubscriptionArn=True,
        )
        self._report(f"created  subscription  {label}")

    # -- the calendar bucket ---------------------------------------------------------------

    def _bucket(self, topology: topo.Topology) -> None:
        name = topology.bucket
        try:
            self._s3.head_bucket(Bucket=name)
            self._report(f"exists   bucket        {name}")
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": name}
            if self._region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            self._s3.create_bucket(**kwargs)
            self._report(f"created  bucket        {name}")
        self._s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        # The whole configuration is replaced, so a rerun also removes an older rule that expired
        # the whole bucket, live feeds included (an empty calendar for anyone quiet for a month).
        self._s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": lifecycle_rules(topology)},
        )


def lifecycle_rules(topology: topo.Topology) -> list[dict[str, Any]]:
    """Job calendars (and only they) expire; an upload a crash left unfinished, of any kind, is
    aborted after a day. Terraform's aws_s3_bucket_lifecycle_configuration says the same."""
    return [
        {
            "ID": "expire-job-calendars",
            "Status": "Enabled",
            "Filter": {"Prefix": topology.expire_prefix},
            "Expiration": {"Days": topology.expire_after_days},
        },
        {
            "ID": "abort-incomplete-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    ]


def wait_for_endpoint(aws: AwsSettings, timeout: float) -> None:
    """Block until the endpoint answers, so one command can start the emulator and bootstrap."""
    deadline = time.monotonic() + timeout
    sqs = aws.client("sqs", connect_timeout=1, read_timeout=5)
    while True:
        try:
            sqs.list_queues()
            return
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", type=Path, default=None, help="default: infra/topology.yaml")
    parser.add_argument("--prefix", default=None, help="name prefix (default: $TOPOLOGY_PREFIX)")
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for the endpoint")
    args = parser.parse_args(argv)
    aws = AwsSettings.from_env(os.environ)
    prefix = aws.name_prefix if args.prefix is None else args.prefix
    topology = topo.load(args.topology, prefix=prefix)
    print(f"bootstrap: {aws.endpoint_url or 'AWS'} ({aws.region}), prefix {prefix!r}")
    if args.wait:
        wait_for_endpoint(aws, args.wait)
    Bootstrap(aws).apply(topology)
    return 0


if __name__ == "__main__":
    sys.exit(main())
