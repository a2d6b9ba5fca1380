"""The outbox relay end to end: PostgreSQL -> relay -> moto SNS FIFO topic -> a subscribed queue."""

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, event, select

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsEndpoint, AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from taskoverflow_testing.tcp_proxy import TcpProxy
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo
from todo_api.domain.todo import decide
from todo_api.relay.leadership import Leadership
from todo_api.relay.relay import Relay
from todo_api.store import event_store, read_model
from todo_api.store.tables import events

TOPIC = "todo-events.fifo"


@pytest.fixture
def worker_tap(aws: AwsWorld) -> TopicTap:
    """A queue with the ical-worker's own filter policy, so we see exactly what it would get."""
    sub = aws.subscription_into("ical-worker-todo-events.fifo")
    return TopicTap(aws.settings, aws.topic_arn(TOPIC), filter_policy=sub.filter_policy())


def relay_for(engine: Engine, aws: AwsWorld, sns: Any = None) -> Relay:
    sns = sns or aws.settings.client("sns")
    return Relay(
        engine, Publisher(sns, aws.topic_arn(TOPIC)), idle_seconds=0.01, max_backoff_seconds=0.5
    )


@pytest.fixture
def running_relay(pg_engine: Engine, aws: AwsWorld) -> Iterator[Relay]:
    relay = relay_for(pg_engine, aws)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    yield relay
    relay.stop()
    thread.join(10)


def feed(engine: Engine, owner: str = "default") -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            json.loads(b) for _, b in event_store.owner_events(conn, owner, after=0, limit=10_000)
        ]


def test_each_write_arrives_once_in_order_valid_and_routable(
    client: FlaskClient, pg_engine: Engine, running_relay: Relay, worker_tap: TopicTap
) -> None:
    todo = client.post("/api/v1/todos", json={"title": "Plan trip"}).json
    client.put(f"/api/v1/todos/{todo['id']}", json={"deadline_at": "2026-12-24T18:00:00"})
    client.put(f"/api/v1/todos/{todo['id']}", json={"completed": True})
    client.post("/api/v1/todos", json={"title": "Second"})
    client.delete(f"/api/v1/todos/{todo['id']}")
    received = worker_tap.read(5, settle=1.5)
    stored = feed(pg_engine)
    assert bodies(received) == stored, "what arrived is exactly what was stored, once, in order"
    assert [e["data"]["change"] for e in stored] == [
        "created",
        "updated",
        "updated",
        "created",
        "deleted",
    ]
    for message, body in zip(received, bodies(received), strict=True):
        validate_envelope(body)
        attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attrs == {"event_type": "TodoChanged", "schema_version": "1", "owner": "default"}
    with pg_engine.connect() as conn:
        assert event_store.unpublished_count(conn) == 0


@pytest.fixture
def notified_relay(pg_engine: Engine, aws: AwsWorld) -> Iterator[TodoApplication]:
    """A running relay whose polling and safety re-read are a minute away, so within a test only
    a NOTIFY can wake it; yields the application to write through."""
    relay = Relay(
        pg_engine,
        Publisher(aws.settings.client("sns"), aws.topic_arn(TOPIC)),
        idle_seconds=60,
        listen_seconds=60,
    )
    app = TodoApplication(pg_engine)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    time.sleep(1.0)  # past its first passes: it is now waiting on the outbox channel
    yield app
    relay.stop()
    # A stop is noticed when the wait ends (a second, by default); here a write ends it.
    app.create("default", CreateTodo(title="and stop"))
    thread.join(10)
    assert not thread.is_alive()


def test_an_idle_relay_is_woken_by_the_commit_not_by_its_timeout(
    notified_relay: TodoApplication, worker_tap: TopicTap
) -> None:
    started = time.monotonic()
    notified_relay.create("default", CreateTodo(title="wake up"))
    [arrived] = bodies(worker_tap.read(1, timeout=20))
    # Polling or the safety re-read would take a minute; only the NOTIFY is this quick.
    assert time.monotonic() - started < 15
    assert arrived["data"]["todo"]["title"] == "wake up"


def test_a_write_committed_during_a_pass_is_published_without_waiting_out_the_rest(
    notified_relay: TodoApplication, pg_engine: Engine, worker_tap: TopicTap
) -> None:
    notified_relay.create("default", CreateTodo(title="first"))
    with pg_engine.connect() as holder:
        # Hold the first event's row: the relay publishes it, then waits here to mark it.
        holder.execute(select(events.c.event_id).with_for_update())
        [first] = bodies(worker_tap.read(1, timeout=20))
        notified_relay.create("default", CreateTodo(title="second"))  # commits mid-pass
        holder.rollback()
    started = time.monotonic()
    [second] = bodies(worker_tap.read(1, timeout=20))
    # The safety re-read is a minute away: only the second write's NOTIFY is this quick.
    assert time.monotonic() - started < 15
    assert [first["data"]["todo"]["title"], second["data"]["todo"]["title"]] == [
        "first",
        "second",
    ]


def test_writes_succeed_while_aws_is_down_and_every_event_arrives_once_in_order_after(
    client: FlaskClient,
    pg_engine: Engine,
    aws: AwsWorld,
    aws_endpoint: AwsEndpoint,
    worker_tap: TopicTap,
) -> None:
    proxy = TcpProxy(aws_endpoint.port)
    proxied = replace(aws.settings, endpoint_url=proxy.endpoint_url)
    relay = Relay(
        pg_engine,
        Publisher(proxied.client("sns"), aws.topic_arn(TOPIC)),
        idle_seconds=0.01,
        max_backoff_seconds=0.3,
    )
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        for i in range(30):
            assert client.post("/api/v1/todos", json={"title": f"offline {i}"}).status_code == 201
        time.sleep(1.5)  # the relay keeps failing against the dead endpoint meanwhile
        with pg_engine.connect() as conn:
            assert event_store.unpublished_count(conn) == 30
        proxy.up()
        received = worker_tap.read(30, timeout=30, settle=2.0)
    finally:
        relay.stop()
        thread.join(10)
        proxy.down()
    assert [b["sequence"] for b in bodies(received)] == list(range(1, 31))
    assert bodies(received) == feed(pg_engine)


class HighWaterMarkRelay(Relay):
    """The naive relay: "publish where position > the last one I saw". Kept here only to show
    that the ordering test below catches the late-commit bug it has."""

    last_position = 0

    def pending(self, conn: Connection) -> list[event_store.StoredEvent]:
        rows = conn.execute(
            select(*event_store.STORED_COLUMNS)
            .where(events.c.position > self.last_position)
            .order_by(events.c.position)
            .limit(100)
        ).all()
        if rows:
            self.last_position = rows[-1].position
        return [event_store.stored_event(r) for r in rows]


def late_committing_writers(pg_url: str, owners: list[str], per_writer: int, writers: int) -> None:
    """Writers whose transactions linger a random while before COMMIT, so rows with lower
    positions often become visible after rows with higher ones."""
    engine = make_engine(pg_url)
    rng = random.Random(42)

    @event.listens_for(engine, "commit")
    def _linger(_conn: Any) -> None:
        time.sleep(rng.random() * 0.03)

    app = TodoApplication(engine)

    def write(n: int) -> None:
        for i in range(per_writer):
            app.create(owners[(n + i) % len(owners)], CreateTodo(title=f"w{n}-{i}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()


def one_late_commit_in_plain_sight(engine: Engine, relay: Relay) -> None:
    """The bug, made deterministic: writer A appends (a lower position) and keeps its transaction
    open; writer B appends and commits (a higher position); the relay makes a pass; then A
    commits. A relay that remembers "the last position I saw" has moved past A for good."""
    app = TodoApplication(engine)
    with engine.begin() as conn:  # writer A, not yet committed
        decision = decide(
            CreateTodo(title="committed late"),
            None,
            now=datetime.now(UTC),
            new_id=read_model.allocate_id(conn),
        )
        event_store.append(conn, "ann", decision, todo_id=decision[0].todo.id)
        app.create("ben", CreateTodo(title="committed first"))  # writer B, committed
        relay.publish_pending()
    for _ in range(3):
        relay.publish_pending()


def run_ordering_scenario(
    relay: Relay, engine: Engine, pg_url: str, tap: TopicTap
) -> dict[str, list[int]]:
    """One deterministic late commit, then writers racing while the relay tails the outbox;
    returns what each owner's stream delivered."""
    owners = ["ann", "ben", "cat"]
    one_late_commit_in_plain_sight(engine, relay)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        late_committing_writers(pg_url, owners, per_writer=15, writers=6)
        # Let the tailing relay finish: until the outbox is empty (a high-water-mark relay never
        # gets there, because what it skipped stays unpublished), for at most ten seconds.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if event_store.unpublished_count(conn) == 0:
                    break
            time.sleep(0.1)
    finally:
        relay.stop()
        thread.join(10)
    received = bodies(tap.read(92, timeout=8, settle=1.0))
    return {o: [b["sequence"] for b in received if b["owner"] == o] for o in owners}


def stored_sequences(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.owner, events.c.sequence).order_by(events.c.sequence)
        ).all()
    out: dict[str, list[int]] = {}
    for owner, seq in rows:
        out.setdefault(owner, []).append(seq)
    return out


def delivery_diff(delivered: dict[str, list[int]], stored: dict[str, list[int]]) -> str:
    lines = []
    for owner, expected in stored.items():
        got = delivered.get(owner, [])
        missing = sorted(set(expected) - set(got))
        duplicated = sorted({s for s in got if got.count(s) > 1})
        disordered = [b for a, b in pairwise(got) if b < a]
        if missing or duplicated or disordered:
            lines.append(
                f"{owner}: missing {missing} duplicated {duplicated} out of order {disordered}"
            )
    return "; ".join(lines)


def test_the_relay_never_skips_a_late_commit_and_keeps_each_owners_order(
    pg_engine: Engine, pg_url: str, aws: AwsWorld, worker_tap: TopicTap
) -> None:
    delivered = run_ordering_scenario(relay_for(pg_engine, aws), pg_engine, pg_url, worker_tap)
    stored = stored_sequences(pg_engine)
    assert sum(map(len, stored.values())) == 92
    assert delivered == stored, delivery_diff(delivered, stored)


def test_the_ordering_test_catches_a_high_water_mark_relay(
    pg_engine: Engine, pg_url: str, aws: AwsWorld, worker_tap: TopicTap
) -> None:
    naive = HighWaterMarkRelay(
        pg_engine, Publisher(aws.settings.client("sns"), aws.topic_arn(TOPIC)), idle_seconds=0.002
    )
    delivered = run_ordering_scenario(naive, pg_engine, pg_url, worker_tap)
    stored = stored_sequences(pg_engine)
    missing = sum(len(stored[o]) - len(delivered[o]) for o in stored)
    assert missing > 0, "late commits should have slipped past the high-water mark"


def test_only_one_relay_leads_and_a_standby_takes_over(pg_engine: Engine, pg_url: str) -> None:
    other = make_engine(pg_url)
    first, second = Leadership(pg_engine), Leadership(other)
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        assert first.acquire() is True, "the leader keeps its lock"
        first.release()
        assert second.acquire() is True
    finally:
        first.release()
        second.release()
        other.dispose()
