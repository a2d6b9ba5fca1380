"""boto3 clients built from one settings object, the same way in every process.

The endpoint comes only from the standard AWS_ENDPOINT_URL variable (moto, LocalStack, or unset for
AWS), so no code path knows which of them it is talking to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# botocore rebuilds its default User-Agent (SDK metadata, feature ids) on every request, about
# 60 µs of CPU a call here; a fixed one costs nothing (botocore still appends its version).
USER_AGENT = "TaskOverflow"


@dataclass(frozen=True, slots=True)
class AwsSettings:
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    name_prefix: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AwsSettings:
        return cls(
            endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            access_key_id=environ.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY") or None,
            name_prefix=environ.get("TOPOLOGY_PREFIX", ""),
        )

    def client(self, service: str, *, connect_timeout: float = 2, read_timeout: float = 30) -> Any:
        """A client that fails fast when the endpoint is down, so callers can back off and retry."""
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            user_agent=USER_AGENT,
        )
        client = boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=config,
        )
        if self.endpoint_url:
            # LocalStack's hypercorn gateway closes every connection unless the client asks for
            # keep-alive, so each call paid a TCP handshake and a fresh server-side connection:
            # asking cut its CPU per call by about a quarter. AWS keeps connections anyway.
            client.meta.events.register("before-send", _ask_for_keep_alive)
        return client


def _ask_for_keep_alive(request: Any, **_: Any) -> None:
    request.headers["Connection"] = "keep-alive"


def find_topic_arn(sns: Any, name: str) -> str:
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                return str(topic["TopicArn"])
    raise LookupError(f"SNS topic {name!r} does not exist: run the bootstrap first")


def find_queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise LookupError(f"SQS queue {name!r} does not exist: run the bootstrap first") from None
