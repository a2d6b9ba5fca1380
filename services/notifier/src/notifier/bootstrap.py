"""Composition root for the notifier process; nothing is built at import time."""

from __future__ import annotations

from notifier.config import Settings
from notifier.store.deliveries import create_schema
from notifier.webhooks import WebhookSender
from notifier.worker.notifier import Notifier, handlers
from taskoverflow_events.aws import find_queue_url, find_topic_arn
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_events.startup import retry_until


def build_notifier(settings: Settings) -> Notifier:
    engine = make_engine(settings.database_url)
    create_schema(engine)
    sns = settings.aws.client("sns")
    topic_arn = retry_until(lambda: find_topic_arn(sns, settings.named(settings.calendar_topic)))
    sender = None
    if settings.webhook_secret:
        sender = WebhookSender(
            settings.webhook_secret,
            timeout=settings.webhook_timeout_seconds,
            attempts=settings.webhook_attempts,
            backoff=settings.webhook_backoff_seconds,
        )
    return Notifier(
        engine, Publisher(sns, topic_arn), sender, public_api_url=settings.public_api_url
    )


def build_consumer(settings: Settings) -> QueueConsumer:
    notifier = build_notifier(settings)
    sqs = settings.aws.client("sqs")
    queue_url = retry_until(lambda: find_queue_url(sqs, settings.named(settings.queue)))
    return QueueConsumer(
        sqs, queue_url, handlers(notifier), wait_time_seconds=settings.wait_time_seconds
    )
