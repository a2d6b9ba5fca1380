"""Composition roots for the worker's processes; nothing is built at import time."""

from __future__ import annotations

import atexit

from sqlalchemy import Engine

from ical_worker.config import Settings
from ical_worker.feed import FeedClient
from ical_worker.housekeeping import keep_house
from ical_worker.projection import Projection
from ical_worker.storage import CalendarStore
from ical_worker.store.tables import create_schema
from ical_worker.worker.calendar_worker import CalendarWorker, batch_handlers, handlers
from ical_worker.worker.feed_refresher import FeedRefresher, FeedSweep, LiveFeeds
from taskoverflow_events.consumer_group import ConsumerGroup
from taskoverflow_events.periodic import Periodic
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.process import consumer_for, publisher_for


def build_projection(settings: Settings) -> tuple[Engine, Projection]:
    # No wait for an owner's lock, and no quiet transaction, lasts long: a stuck one fails and
    # is retried rather than holding up the owner (and the pruning, and the feeds) for good.
    engine = make_engine(
        settings.database_url,
        password=settings.database_password,
        lock_timeout_ms=60_000,
        idle_in_transaction_timeout_ms=120_000,
    )
    create_schema(engine)
    return engine, Projection(FeedClient(settings.todo_api_url, token=settings.todo_api_token))


def build_consumer(settings: Settings) -> ConsumerGroup:
    engine, projection = build_projection(settings)
    s3 = settings.aws.client("s3")
    store = CalendarStore(s3, settings.aws.name_prefix + settings.bucket)
    feeds = LiveFeeds(engine, store, interval=settings.feed_refresh_seconds)
    # Always running, also with an interval of 0: its first round writes the feeds a crash left
    # due, and it sweeps for feeds that went missing.
    refresher = FeedRefresher(
        feeds, FeedSweep(engine, s3, store.bucket), sweep_seconds=settings.feed_sweep_seconds
    )
    worker = CalendarWorker(
        engine,
        projection,
        store,
        publisher_for(settings.aws, settings.calendar_topic),
        give_up_after_receives=settings.give_up_after_receives,
        feeds=feeds,
        feeds_in_background=settings.feed_refresh_seconds > 0,
    )
    refresher.start()
    atexit.register(refresher.stop)  # runs once the consumer has stopped: writes what is due
    housekeeping = Periodic("housekeeping", 60.0, lambda: keep_house(engine, settings))
    housekeeping.start()
    atexit.register(housekeeping.stop)
    # Both queues get every handler: a request still on the changes queue from before ADR 14
    # (or a change misrouted) is handled where it lands, not lost.
    return ConsumerGroup(
        [
            consumer_for(
                settings.aws,
                queue,
                handlers(worker),
                wait_seconds=settings.consumer_wait_seconds,
                concurrency=settings.consumer_concurrency,
                after_batch=worker.refresh_feeds,
                batch_handlers=batch_handlers(worker),
            )
            for queue in (settings.queue, settings.requests_queue)
        ]
    )
