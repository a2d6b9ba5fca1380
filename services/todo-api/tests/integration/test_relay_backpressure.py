"""With backpressure on (as `make run` has it, ADR 15), the relay keeps the worker's changes
queue near its limit and leaves the rest of a backlog in the outbox; calendar requests still go
at once; and once the queue is read, every change goes out, in its owner's order.

The relay is built from Settings as `python -m todo_api.relay` builds it, against a moto server
and PostgreSQL, so the queue names, prefix and depth look-ups are the ones a process uses.
"""

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from taskoverflow_events.redrive import queue_depth
from taskoverflow_testing.plugin import AwsWorld
from todo_api.bootstrap import build_relay
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.store.tables import events

from .test_relay_owners import backlog, wait_published

CHANGES_QUEUE = "ical-worker-todo-events.fifo"
REQUESTS_QUEUE = "ical-worker-calendar-requests.fifo"
LIMIT = 50
PASS = 100  # RELAY_BATCH_SIZE's default: the most one pass can add past the limit
BACKLOG = 600


def unpublished(engine: Engine, owner: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(events.c.owner == owner, events.c.published_at.is_(None))
            ).scalar_one()
        )


@pytest.fixture
def relay(pg_url: str, pg_engine: Engine, aws: AwsWorld) -> Iterator[None]:
    settings = Settings.from_env(
        {
            **aws.env(),
            "DATABASE_URL": pg_url,
            "RELAY_IDLE_SECONDS": "0.01",
            "RELAY_BACKPRESSURE_QUEUES": CHANGES_QUEUE,
            "RELAY_BACKPRESSURE_DEPTH": str(LIMIT),
        }
    )
    relay = build_relay(settings)
    thread = threading.Thread(target=relay.run, daemon=True)
    backlog(pg_engine, "alice", BACKLOG)  # waiting when the relay starts, as after an outage
    thread.start()
    yield
    relay.stop()
    thread.join(10)


def test_changes_wait_in_the_outbox_while_the_queue_is_deep_and_requests_do_not(
    pg_engine: Engine, aws: AwsWorld, relay: None
) -> None:
    sqs = aws.settings.client("sqs")
    changes = aws.queue_url(CHANGES_QUEUE)
    deadline = time.monotonic() + 30
    while queue_depth(sqs, changes, in_flight=True) < LIMIT:
        assert time.monotonic() < deadline, "the relay never filled the changes queue"
        time.sleep(0.05)
    time.sleep(1.5)  # several looks at the depth; nobody reads the queue meanwhile
    depth = queue_depth(sqs, changes, in_flight=True)
    assert depth < LIMIT + PASS, f"{depth} changes queued: the relay did not hold back"
    assert unpublished(pg_engine, "alice") == BACKLOG - depth

    CalendarExport(pg_engine).request("bob")
    wait_published(pg_engine, "bob", timeout=10)
    assert unpublished(pg_engine, "alice") == BACKLOG - depth, "alice's changes went with it"
    [request] = _receive(sqs, aws.queue_url(REQUESTS_QUEUE), 1)
    assert json.loads(request["Body"])["owner"] == "bob"

    # The worker's part: read and delete. The relay sends the rest, never far past the limit.
    sequences: list[int] = []
    deepest = depth
    deadline = time.monotonic() + 120
    while len(sequences) < BACKLOG:
        assert time.monotonic() < deadline, f"only {len(sequences)} of {BACKLOG} changes came"
        deepest = max(deepest, queue_depth(sqs, changes, in_flight=True))
        sequences += [json.loads(m["Body"])["sequence"] for m in _receive(sqs, changes, 10)]
    assert sequences == list(range(1, BACKLOG + 1)), "lost, repeated or out of order"
    assert deepest < LIMIT + PASS, f"the changes queue reached {deepest}"
    assert unpublished(pg_engine, "alice") == 0


def _receive(sqs: Any, url: str, most: int) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=most, WaitTimeSeconds=1).get(
        "Messages", []
    )
    if messages:
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return list(messages)
