"""Composition root for the notifier process; nothing is built at import time."""

from __future__ import annotations

from notifier.config import Settings
from notifier.store.deliveries import create_schema
from notifier.webhooks import WebhookSender
from notifier.worker.notifier import Notifier, batch_handlers, handlers
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.process import consumer_for, publisher_for


def build_consumer(settings: Settings) -> QueueConsumer:
    engine = make_engine(settings.database_url, password=settings.database_password)
    create_schema(engine)
    sender = None
    if settings.webhook_secret:
        sender = WebhookSender(
            settings.webhook_secret,
            timeout=settings.webhook_timeout_seconds,
            attempts=settings.webhook_attempts,
            backoff=settings.webhook_backoff_seconds,
        )
    notifier = Notifier(
        engine,
        publisher_for(settings.aws, settings.calendar_topic),
        sender,
        public_api_url=settings.public_api_url,
        allowed_networks=settings.callback_allowed_networks,
    )
    return consumer_for(
        settings.aws,
        settings.queue,
        handlers(notifier),
        wait_seconds=settings.consumer_wait_seconds,
        batch_handlers=batch_handlers(notifier),
    )
