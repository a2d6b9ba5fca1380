"""The outbox relay end to end: PostgreSQL -> relay -> moto SNS FIFO topic -> a subscribed queue."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsEndpoint, AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from taskoverflow_testing.tcp_proxy import TcpProxy
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo
from todo_api.relay.relay import Relay
from todo_api.store import event_store, outbox
from todo_api.store.tables import events

TOPIC = "todo-events.fifo"


@pytest.fixture
def running_relay(
    pg_engine: Engine, aws: AwsWorld, make_relay: Callable[..., Relay]
) -> Iterator[Relay]:
    relay = make_relay(pg_engine, aws)
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
        assert outbox.unpublished_count(conn) == 0


@pytest.fixture
def notified_relay(pg_engine: Engine, aws: AwsWorld) -> Iterator[TodoApplication]:
    """A running relay whose polling and safety re-read are a minute away, so within a test only
    a NOTIFY can wake it; yields the application to write through."""
    relay = Relay(
        pg_engine,
        Publisher(aws.settings.client("sns"), aws.topic_arn(TOPIC)),
        idle_seconds=60,
        listen_seconds=60,
        lease_seconds=600,  # nor may renewing its lease
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
            assert outbox.unpublished_count(conn) == 30
        proxy.up()
        received = worker_tap.read(30, timeout=30, settle=2.0)
    finally:
        relay.stop()
        thread.join(10)
        proxy.down()
    assert [b["sequence"] for b in bodies(received)] == list(range(1, 31))
    assert bodies(received) == feed(pg_engine)
