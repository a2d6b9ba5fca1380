"""Composition roots: build each process from Settings, and nothing at import time."""

from __future__ import annotations

from taskoverflow_events.aws import find_queue_url, find_topic_arn
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.startup import retry_until
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.consumer.handlers import handlers
from todo_api.relay.relay import Relay


def build_relay(settings: Settings) -> Relay:
    sns = settings.aws.client("sns")
    topic_arn = retry_until(lambda: find_topic_arn(sns, settings.todo_topic_name))
    return Relay(
        make_engine(settings.database_url),
        Publisher(sns, topic_arn),
        batch_size=settings.relay_batch_size,
        idle_seconds=settings.relay_idle_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
    )


def build_consumer(settings: Settings) -> QueueConsumer:
    sqs = settings.aws.client("sqs")
    queue_url = retry_until(lambda: find_queue_url(sqs, settings.calendar_queue_name))
    export = CalendarExport(make_engine(settings.database_url))
    return QueueConsumer(
        sqs, queue_url, handlers(export), wait_time_seconds=settings.consumer_wait_seconds
    )
