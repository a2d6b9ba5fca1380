"""Composition roots for the worker's processes; nothing is built at import time."""

from __future__ import annotations

from sqlalchemy import Engine

from ical_worker.config import Settings
from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.storage import CalendarStore
from ical_worker.store.tables import create_schema
from ical_worker.worker.calendar_worker import CalendarWorker, handlers
from taskoverflow_events.aws import find_queue_url, find_topic_arn
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.startup import retry_until


def build_worker(settings: Settings) -> CalendarWorker:
    engine = make_engine(settings.database_url)
    create_schema(engine)
    sns = settings.aws.client("sns")
    topic_arn = retry_until(lambda: find_topic_arn(sns, settings.named(settings.calendar_topic)))
    return CalendarWorker(
        engine,
        Projection(FeedClient(settings.todo_api_url)),
        CalendarStore(settings.aws.client("s3"), settings.named(settings.bucket)),
        Publisher(sns, topic_arn),
        give_up_after_receives=settings.give_up_after_receives,
    )


def build_consumer(settings: Settings) -> QueueConsumer:
    worker = build_worker(settings)
    sqs = settings.aws.client("sqs")
    queue_url = retry_until(lambda: find_queue_url(sqs, settings.named(settings.queue)))
    return QueueConsumer(
        sqs, queue_url, handlers(worker), wait_time_seconds=settings.wait_time_seconds
    )


def build_projection(settings: Settings) -> tuple[Engine, Projection]:
    engine = make_engine(settings.database_url)
    create_schema(engine)
    return engine, Projection(FeedClient(settings.todo_api_url))
