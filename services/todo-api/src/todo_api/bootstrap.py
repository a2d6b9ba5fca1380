"""Composition roots: build each process from Settings, and nothing at import time."""

from __future__ import annotations

import atexit

from taskoverflow_events.aws import find_queue_url
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.periodic import Periodic
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.process import consumer_for, publisher_for
from taskoverflow_events.redrive import queue_depth
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.consumer.handlers import batch_handlers, handlers
from todo_api.consumer.housekeeping import fail_overdue_jobs, purge_bookkeeping
from todo_api.relay.backpressure import Backpressure
from todo_api.relay.relay import Relay


def build_relay(settings: Settings) -> Relay:
    # Every statement, lock wait and quiet transaction of the relay, and every SNS call, is
    # bounded to a third of its lease, so a relay cut off mid-pass neither holds row locks its
    # successor needs nor publishes long after it could have lost the lease (ADR 5).
    bound_seconds = max(1.0, settings.relay_lease_seconds / 3)
    return Relay(
        make_engine(
            settings.database_url,
            password=settings.database_password,
            statement_timeout_ms=int(bound_seconds * 1000),
            idle_in_transaction_timeout_ms=int(bound_seconds * 1000),
        ),
        publisher_for(settings.aws, settings.todo_topic, read_timeout=bound_seconds),
        batch_size=settings.relay_batch_size,
        owners_per_pass=settings.relay_owners_per_pass,
        idle_seconds=settings.relay_idle_seconds,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        lease_seconds=settings.relay_lease_seconds,
        lag_report_seconds=settings.relay_lag_report_seconds,
        metrics_namespace=settings.metrics_namespace,
        liveness=Liveness.from_env(),
        backpressure=_backpressure(settings, read_timeout=bound_seconds),
    )


def _backpressure(settings: Settings, *, read_timeout: float) -> Backpressure | None:
    """Off unless RELAY_BACKPRESSURE_QUEUES names queues (relay/backpressure.py, ADR 15)."""
    names = [settings.aws.name_prefix + q for q in settings.relay_backpressure_queues]
    if not names:
        return None
    # A count is a quick call: a second at most per attempt, so a slow look delays a pass by a
    # few seconds, well within the lease, and then the relay publishes as without backpressure.
    sqs = settings.aws.client("sqs", connect_timeout=1, read_timeout=min(1.0, read_timeout))
    urls: dict[str, str] = {}

    def depth() -> int:
        # Looked up once, on first use rather than at start-up: until a look-up succeeds the
        # relay publishes, as without backpressure.
        for name in names:
            if name not in urls:
                urls[name] = find_queue_url(sqs, name)
        return sum(queue_depth(sqs, url, in_flight=True) for url in urls.values())

    return Backpressure(depth, settings.relay_backpressure_depth)


def build_consumer(settings: Settings) -> QueueConsumer:
    engine = make_engine(settings.database_url, password=settings.database_password)
    export = CalendarExport(engine)
    deadline = settings.job_deadline_seconds
    tasks = [
        Periodic(
            "job-deadlines", min(30.0, deadline / 4), lambda: fail_overdue_jobs(engine, deadline)
        ),
        Periodic(
            "retention",
            3600.0,
            lambda: purge_bookkeeping(
                engine,
                settings.retention_days,
                idempotency_hours=settings.idempotency_retention_hours,
            ),
        ),
    ]
    for task in tasks:
        task.start()
        atexit.register(task.stop)
    return consumer_for(
        settings.aws,
        settings.calendar_queue,
        handlers(export),
        wait_seconds=settings.consumer_wait_seconds,
        concurrency=settings.consumer_concurrency,
        batch_handlers=batch_handlers(export),
    )
