"""A whole notifier process (its consumer, dispatcher and housekeeper, on threads) against
PostgreSQL and moto, as many as a test asks for on one database."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from notifier.bootstrap import NotifierProcess, build_notifier
from notifier.config import Settings
from notifier.delivery.http_client import WebhookClient
from notifier.store import webhook_deliveries as store
from notifier.store.migrate import upgrade
from sqlalchemy import Engine

from taskoverflow_events.callback_urls import parse_networks
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.webhook_secrets import owner_secret
from taskoverflow_testing.contracts import publish_verbatim, sample
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap

SIGNING_KEY = "notifier-test-signing-key-" + "0123456789abcdef" * 2
LOOPBACK = parse_networks("127.0.0.0/8")


@dataclass
class Notifiers:
    """Notifier processes (on threads) sharing one database and one moto topology."""

    aws: AwsWorld
    database_url: str
    engine: Engine
    running: list[tuple[NotifierProcess, threading.Thread]] = field(default_factory=list)
    signing_key: str = SIGNING_KEY

    @property
    def secret(self) -> str:
        """The secret of the owner `outcome` uses by default, at version 1."""
        return self.secret_of("default")

    def secret_of(self, owner: str, version: int = 1) -> str:
        return owner_secret(self.signing_key, owner, version)

    @staticmethod
    def outcome(
        event_type: str,
        notify: str | None,
        owner: str = "default",
        signing: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A CalendarGenerated or CalendarGenerationFailed envelope of a fresh job; without
        `signing` (which webhook secrets sign), it is signed with the owner's version 1."""
        job_id = str(uuid.uuid4())
        body = sample(event_type, job_id=job_id, notify=notify, signing=signing)
        return body | {"owner": owner, "correlation_id": job_id}

    def settings(self, **overrides: Any) -> Settings:
        base = Settings(
            database_url=self.database_url,
            aws=self.aws.settings,
            consumer_wait_seconds=1,
            webhook_signing_key=SIGNING_KEY,
            webhook_deadline_seconds=2.0,
            webhook_attempts=3,
            webhook_backoff_seconds=0.05,
            webhook_lease_seconds=10.0,
            callback_allowed_networks=LOOPBACK,
            public_api_url="http://localhost:6400",
        )
        return replace(base, **overrides)

    def start(self, client: WebhookClient | None = None, **overrides: Any) -> NotifierProcess:
        process = build_notifier(self.settings(**overrides), client=client, poll_seconds=0.1)
        thread = threading.Thread(target=process.run, daemon=True)
        thread.start()
        self.running.append((process, thread))
        return process

    def stop_all(self) -> None:
        for process, thread in self.running:
            process.stop()
            thread.join(timeout=30)
        self.running.clear()

    def publish(self, *outcomes: dict[str, Any]) -> None:
        topic = self.aws.topic_arn("calendar-events")
        for body in outcomes:
            publish_verbatim(self.aws.settings, topic, body)

    def delivery(self, delivery_id: str) -> store.Delivery | None:
        with self.engine.connect() as conn:
            return store.get(conn, delivery_id)

    def wait_until_ended(self, delivery_id: str, timeout: float) -> store.Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.delivery(delivery_id)
            if found is not None and found.state != "pending" and found.reported_at:
                return found
            time.sleep(0.05)
        raise AssertionError(f"delivery {delivery_id} did not end: {self.delivery(delivery_id)}")

    def wait_until_consumed(self, timeout: float) -> None:
        """Until the notifier's queue holds nothing, in flight or waiting: every message sent
        to it was handled and deleted."""
        sqs = self.aws.settings.client("sqs")
        url = self.aws.queue_url("notifier-calendar-events")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
            if all(attributes["Attributes"][n] == "0" for n in names):
                return
            time.sleep(0.1)
        raise AssertionError(f"the notifier's queue was not drained in {timeout} s")

    def ready_tap(self) -> TopicTap:
        """CalendarReady events as todo-api's queue would get them."""
        only_ready = json.dumps({"event_type": ["CalendarReady"]})
        return TopicTap(self.aws.settings, self.aws.topic_arn("calendar-events"), only_ready)


@pytest.fixture
def notifier_database(postgres_database: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    url = postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture
def notifiers(aws: AwsWorld, notifier_database: tuple[str, Engine]) -> Iterator[Notifiers]:
    url, engine = notifier_database
    world = Notifiers(aws, url, engine)
    yield world
    world.stop_all()
