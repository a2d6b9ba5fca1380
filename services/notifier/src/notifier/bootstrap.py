"""Composition root for the notifier process; nothing is built at import time.

The process has three parts on one database: the consumer (SQS → queued deliveries), the
dispatcher with its workers (queued deliveries → webhook attempts → CalendarReady), and the
housekeeper (late CalendarReady events, retention). The schema is migrated first.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.config import Settings
from notifier.delivery.attempts import Deliverer
from notifier.delivery.dispatcher import Dispatcher
from notifier.delivery.housekeeping import Housekeeper
from notifier.delivery.http_client import WebhookClient
from notifier.delivery.reports import Reporter
from notifier.delivery.schedule import RetryPolicy
from notifier.ready import ready_version
from notifier.store.migrate import upgrade
from notifier.worker.notifier import Notifier, batch_handlers, handlers
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.process import consumer_for, publisher_for
from taskoverflow_events.stopping import stop_on_signals


@dataclass
class NotifierProcess:
    consumer: QueueConsumer
    dispatcher: Dispatcher
    housekeeper: Housekeeper
    # How long a stop waits for attempts in flight: they end by their deadline.
    stop_timeout: float

    def run(self) -> None:
        """Until stop(): the consumer on this thread, the dispatcher and housekeeper beside it."""
        self.dispatcher.start()
        self.housekeeper.start()
        try:
            self.consumer.run()
        finally:
            self.dispatcher.stop(self.stop_timeout)
            self.housekeeper.stop()

    def stop(self) -> None:
        """Claim nothing more and receive nothing more; run() returns once both are done."""
        self.dispatcher.stop_claiming()
        self.consumer.stop()

    def install_signal_handlers(self) -> None:
        stop_on_signals(self.stop)


def build_notifier(
    settings: Settings, *, client: WebhookClient | None = None, poll_seconds: float = 1.0
) -> NotifierProcess:
    """`client` and `poll_seconds` are seams for the tests (a resolver, a TLS context)."""
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    publisher = publisher_for(settings.aws, settings.calendar_topic)
    reporter = Reporter(engine, publisher, version=ready_version(settings.write_versions))
    deliverer = Deliverer(
        engine,
        client
        or WebhookClient(
            deadline_seconds=settings.webhook_deadline_seconds,
            allowed_networks=settings.callback_allowed_networks,
        ),
        RetryPolicy(
            attempts=settings.webhook_attempts,
            backoff_seconds=settings.webhook_backoff_seconds,
            backoff_max_seconds=settings.webhook_backoff_max_seconds,
        ),
        reporter,
        signing_key=settings.webhook_signing_key,
    )
    dispatcher = Dispatcher(
        engine,
        deliverer.attempt,
        concurrency=settings.webhook_concurrency,
        per_owner=settings.webhook_per_owner,
        lease_seconds=settings.webhook_lease_seconds,
        poll_seconds=poll_seconds,
        max_attempts=settings.webhook_attempts,
    )
    notifier = Notifier(
        engine,
        publisher,
        public_api_url=settings.public_api_url,
        write_versions=settings.write_versions,
        on_queued=dispatcher.wake,
    )
    consumer = consumer_for(
        settings.aws,
        settings.queue,
        handlers(notifier),
        wait_seconds=settings.consumer_wait_seconds,
        batch_handlers=batch_handlers(notifier),
        concurrency=settings.consumer_concurrency,
    )
    housekeeper = Housekeeper(engine, reporter, retention_days=settings.retention_days)
    return NotifierProcess(
        consumer, dispatcher, housekeeper, stop_timeout=settings.webhook_deadline_seconds + 5
    )
