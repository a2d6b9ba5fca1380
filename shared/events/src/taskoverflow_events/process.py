"""What every TaskOverflow process does the same way: read the common settings, wire itself to
its queue and topics (waiting, bounded, for the bootstrap), and run a consumer until told to stop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from taskoverflow_events import logs
from taskoverflow_events.aws import AwsSettings, find_queue_url, find_topic_arn
from taskoverflow_events.codec import DecodedEvent
from taskoverflow_events.consumer import BatchHandler, Handler, QueueConsumer
from taskoverflow_events.consumer_group import ConsumerGroup
from taskoverflow_events.db_auth import DatabasePassword, database_password_from_env
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.quotas import SQS_MAX_WAIT_SECONDS
from taskoverflow_events.startup import retry_until
from taskoverflow_events.versions import parse_write_versions


@dataclass(frozen=True, slots=True)
class ProcessSettings:
    """The settings every service's Settings inherits: read the same way everywhere."""

    aws: AwsSettings = field(default_factory=AwsSettings)
    log_json: bool | None = None
    log_level: str = "INFO"
    consumer_wait_seconds: int = 10
    # Receive loops per consumer process: one owner's long batch never holds up another's.
    consumer_concurrency: int = 4
    # A password, or where each new connection gets one: an RDS IAM token (db_auth.py).
    database_password: DatabasePassword | None = field(default=None, repr=False)
    # Event versions to write ahead of this release's defaults (versions.py, ADR 7).
    write_versions: Mapping[str, int] = field(default_factory=dict)


def common_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The Settings fields every service shares, from the same environment variables."""
    json_logs = env.get("LOG_JSON")
    aws = AwsSettings.from_env(env)
    return {
        "aws": aws,
        "log_json": None if json_logs is None else json_logs.lower() in ("1", "true", "yes"),
        "log_level": env.get("LOG_LEVEL", "INFO"),
        "consumer_wait_seconds": _within(env, "CONSUMER_WAIT_SECONDS", 10, 0, SQS_MAX_WAIT_SECONDS),
        "consumer_concurrency": _within(env, "CONSUMER_CONCURRENCY", 4, 1, 64),
        "database_password": database_password_from_env(env, aws),
        "write_versions": parse_write_versions(env.get("EVENT_WRITE_VERSIONS")),
    }


def _within(env: Mapping[str, str], name: str, default: int, least: int, most: int) -> int:
    """A whole number setting, refused at start-up when out of range: SQS refuses every receive
    whose wait is past 20 s, and a consumer would only log a warning per refused receive."""
    value = int(env.get(name, str(default)))
    if not least <= value <= most:
        raise ValueError(f"{name} must be {least} to {most}, not {value}")
    return value


def publisher_for(aws: AwsSettings, topic: str, *, read_timeout: float = 30) -> Publisher:
    """A publisher to `topic`: its ARN (as deployments give it, needing no sns:ListTopics), or
    its name without the environment prefix (looked up, as `make run` and the tests do)."""
    sns = aws.client("sns", read_timeout=read_timeout)
    if topic.startswith("arn:"):
        return Publisher(sns, topic)
    return Publisher(sns, retry_until(lambda: find_topic_arn(sns, aws.name_prefix + topic)))


def consumer_for(
    aws: AwsSettings,
    queue: str,
    handlers: Mapping[str, Handler],
    *,
    wait_seconds: int,
    after_batch: Callable[[list[DecodedEvent]], None] | None = None,
    batch_handlers: Mapping[str, BatchHandler] | None = None,
    concurrency: int = 1,
) -> QueueConsumer:
    """A consumer of `queue` (name without the environment prefix)."""
    sqs = aws.client("sqs")
    url = retry_until(lambda: find_queue_url(sqs, aws.name_prefix + queue))
    return QueueConsumer(
        sqs,
        url,
        handlers,
        wait_time_seconds=wait_seconds,
        liveness=Liveness.from_env(),
        after_batch=after_batch,
        batch_handlers=batch_handlers,
        concurrency=concurrency,
    )


def run_consumer(
    service: str,
    *,
    log_json: bool | None,
    log_level: str,
    build: Callable[[], QueueConsumer | ConsumerGroup],
) -> None:
    """A consumer process's whole life: logging, build, SIGTERM/SIGINT handling, run."""
    logs.configure(service, json=log_json, level=log_level)
    consumer = build()
    consumer.install_signal_handlers()
    consumer.run()
