"""Composition roots: build each process from Settings, and nothing at import time."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from taskoverflow_events.aws import find_topic_arn
from taskoverflow_events.publisher import Publisher
from todo_api.config import Settings
from todo_api.relay.relay import Relay
from todo_api.store.engine import make_engine

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
