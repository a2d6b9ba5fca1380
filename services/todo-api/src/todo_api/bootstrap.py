"""Composition roots: build each process from Settings, and nothing at import time."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from taskoverflow_events.aws import find_queue_url, find_topic_arn
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.consumer.handlers import handlers
from todo_api.relay.relay import Relay

log = structlog.get_logger("todo_api.bootstrap")


def build_relay(settings: Settings, *, wait_seconds: float = 60.0) -> Relay:
    sns = settings.aws.client("sns")
    topic_arn = _resolve_with_retry(
        lambda: find_topic_arn(sns, settings.todo_topic_name), wait_seconds
    )
    return Relay(
        make_engine(settings.database_url),
        Publisher(sns, topic_arn),
        batch_size=settings.relay_batch_size,
        idle_seconds=settings.relay_idle_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
    )


def build_consumer(settings: Settings, *, wait_seconds: float = 60.0) -> QueueConsumer:
    sqs = settings.aws.client("sqs")
    queue_url = _resolve_with_retry(
        lambda: find_queue_url(sqs, settings.calendar_queue_name), wait_seconds
    )
    export = CalendarExport(make_engine(settings.database_url))
    return QueueConsumer(
        sqs, queue_url, handlers(export), wait_time_seconds=settings.consumer_wait_seconds
    )


def _resolve_with_retry(lookup: Callable[[], str], wait_seconds: float) -> str:
    """At start-up the endpoint or the bootstrap may still be on its way; wait a bounded time."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return lookup()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for the messaging topology", error=str(exc))
            time.sleep(1.0)
