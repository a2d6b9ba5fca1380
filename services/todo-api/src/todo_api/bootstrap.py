"""Composition roots: build each process from Settings, and nothing at import time."""

from __future__ import annotations

from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.process import consumer_for, publisher_for
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.consumer.handlers import batch_handlers, handlers
from todo_api.relay.relay import Relay


def build_relay(settings: Settings) -> Relay:
    return Relay(
        make_engine(settings.database_url, password=settings.database_password),
        publisher_for(settings.aws, settings.todo_topic),
        batch_size=settings.relay_batch_size,
        idle_seconds=settings.relay_idle_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        liveness=Liveness.from_env(),
    )


def build_consumer(settings: Settings) -> QueueConsumer:
    export = CalendarExport(make_engine(settings.database_url, password=settings.database_password))
    return consumer_for(
        settings.aws,
        settings.calendar_queue,
        handlers(export),
        wait_seconds=settings.consumer_wait_seconds,
        batch_handlers=batch_handlers(export),
    )
