"""With backpressure on (as `make run` has it, ADR 15), the relay keeps the worker's changes
queue near its limit and leaves the rest of a bulk writer's backlog in the outbox; calendar
requests, and the changes of an owner with a few waiting, still go at once; once the queue is
read, every change goes out, in its owner's order; and owners keep their turns across holds.

The relay is built from Settings as `python -m todo_api.relay` builds it, against a moto server
and the database `make run` uses (SQLite) as well as PostgreSQL, so the queue names, prefix and
depth look-ups are the ones a process uses.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.redrive import queue_depth
from taskoverflow_testing.plugin import AwsWorld
from todo_api.application import TodoApplication
from todo_api.bootstrap import build_relay
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.domain.commands import CreateTodo
from todo_api.relay.backpressure import Backpressure
from todo_api.relay.relay import Relay
from todo_api.store.migrate import upgrade
from todo_api.store.tables import events

from .test_relay_owners import backlog

CHANGES_QUEUE = "ical-worker-todo-events.fifo"
REQUESTS_QUEUE = "ical-worker-calendar-requests.fifo"
LIMIT = 50
PASS = 100  # RELAY_BATCH_SIZE's default: the most one pass can add past the limit
BACKLOG = 600


def unpublished_requests(engine: Engine, owner: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    events.c.owner == owner,
                    events.c.published_at.is_(None),
                    events.c.event_type == "CalendarRequested",
                )
            ).scalar_one()
        )


def unpublished(engine: Engine, owner: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(events.c.owner == owner, events.c.published_at.is_(None))
            ).scalar_one()
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """`make run`'s database, and the one deployments use."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'todo-api.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield url, engine
        engine.dispose()
    else:
        yield request.getfixturevalue("pg_url"), request.getfixturevalue("pg_engine")


@pytest.fixture
def relay(database: tuple[str, Engine], aws: AwsWorld) -> Iterator[Engine]:
    url, engine = database
    settings = Settings.from_env(
        {
            **aws.env(),
            "DATABASE_URL": url,
            "RELAY_IDLE_SECONDS": "0.01",
            "RELAY_BACKPRESSURE_QUEUES": CHANGES_QUEUE,
            "RELAY_BACKPRESSURE_DEPTH": str(LIMIT),
        }
    )
    relay = build_relay(settings)
    thread = threading.Thread(target=relay.run, daemon=True)
    backlog(engine, "alice", BACKLOG)  # waiting when the relay starts, as after an outage
    thread.start()
    yield engine
    relay.stop()
    thread.join(10)


def test_a_bulk_writers_changes_wait_in_the_outbox_while_the_queue_is_deep_and_no_one_else(
    aws: AwsWorld, relay: Engine
) -> None:
    engine = relay
    sqs = aws.settings.client("sqs")
    changes = aws.queue_url(CHANGES_QUEUE)
    deadline = time.monotonic() + 30
    while queue_depth(sqs, changes, in_flight=True) < LIMIT:
        assert time.monotonic() < deadline, "the relay never filled the changes queue"
        time.sleep(0.05)
    time.sleep(1.5)  # several looks at the depth; nobody reads the queue meanwhile
    depth = queue_depth(sqs, changes, in_flight=True)
    assert depth < LIMIT + PASS, f"{depth} changes queued: the relay did not hold back"
    # (A pass may be between SNS and marking its events: hence bounds, not equalities.)
    held = BACKLOG - LIMIT - 2 * PASS
    assert unpublished(engine, "alice") >= held

    # bob writes as people do, and asks for his calendar; alice asks for hers. Their requests,
    # and bob's change, do not wait for alice's backlog; her changes still do.
    TodoApplication(engine).create("bob", CreateTodo(title="bob's one"))
    CalendarExport(engine).request("bob")
    CalendarExport(engine).request("alice")
    deadline = time.monotonic() + 10
    while unpublished(engine, "bob") or unpublished_requests(engine, "alice"):
        assert time.monotonic() < deadline, "bob's events or alice's request were held"
        time.sleep(0.05)
    assert unpublished(engine, "alice") >= held, "alice's changes went with them"
    requests = _receive(sqs, aws.queue_url(REQUESTS_QUEUE), 10)
    assert sorted(json.loads(r["Body"])["owner"] for r in requests) == ["alice", "bob"]

    # The worker's part: read and delete. The relay sends the rest, never far past the limit.
    sequences: list[int] = []
    deepest = depth
    deadline = time.monotonic() + 120
    while len(sequences) < BACKLOG:
        assert time.monotonic() < deadline, f"only {len(sequences)} of {BACKLOG} changes came"
        deepest = max(deepest, queue_depth(sqs, changes, in_flight=True))
        bodies = [json.loads(m["Body"]) for m in _receive(sqs, changes, 10)]
        sequences += [b["sequence"] for b in bodies if b["owner"] == "alice"]
    assert sequences == list(range(1, BACKLOG + 1)), "lost, repeated or out of order"
    assert deepest < LIMIT + PASS, f"the changes queue reached {deepest}"
    assert unpublished(engine, "alice") == 0


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


def test_owners_keep_their_turns_while_requests_go_during_holds(
    pg_engine: Engine, aws: AwsWorld, make_relay: Callable[..., Relay]
) -> None:
    """Passes with changes held keep turns of their own: neither an owner asking for calendars
    again and again, nor the owners a held pass looks at, move the full passes' turns, so every
    owner's turn comes however passes with and without a hold alternate."""
    writers = [f"o{n:02}" for n in range(1, 21)]
    for owner in [*writers, "zzz"]:
        backlog(pg_engine, owner, 40)
    deep = [False]
    pressure = Backpressure(lambda: 10_000 if deep[0] else 0, LIMIT, every_seconds=0)
    relay = make_relay(pg_engine, aws, batch_size=100, owners_per_pass=10, backpressure=pressure)
    for _ in range(2):
        deep[0] = False
        relay.publish_pending()  # ten owners, ten changes each
        deep[0] = True
        CalendarExport(pg_engine).request("zzz")  # last by name, a bulk writer, always asking
        relay.publish_pending()  # zzz's request only: every owner has more than ten waiting
    served = {o for o in writers if unpublished(pg_engine, o) < 40}
    assert served == set(writers), f"never served: {sorted(set(writers) - served)}"
    assert unpublished_requests(pg_engine, "zzz") == 0


def test_a_held_pass_keeps_to_the_budget_of_a_pass_while_sns_is_slow(
    pg_engine: Engine, aws: AwsWorld, make_relay: Callable[..., Relay]
) -> None:
    """Small owners' events go during a hold, but a pass is still about a quarter of a second
    of calls (relay/pacing.py, ADR 14): one call's worth while SNS answers slowly."""
    for n in range(10):
        backlog(pg_engine, f"small-{n}", 5)
    relay = make_relay(pg_engine, aws, batch_size=100, owners_per_pass=10)
    relay._pacing.observed(100, 30.0)  # ten calls of three seconds each
    with pg_engine.connect() as conn:
        rows, more, held = relay.select_pass(conn, held=True)
    assert held
    assert len(rows) == 10, f"{len(rows)} events in a pass of one call"
    assert len({r.owner for r in rows}) == 10, "every small owner's first event rides in it"
    assert more
