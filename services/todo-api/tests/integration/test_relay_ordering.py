"""The relay's order: it never skips a late commit and never reorders an owner's events, which
a relay tailing a high-water mark of global positions would (STYLE.md, recommendation 5)."""

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, Engine, event, select

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo
from todo_api.domain.todo import decide
from todo_api.relay.relay import Relay
from todo_api.relay.selection import Selection
from todo_api.store import event_store, outbox, read_model
from todo_api.store.tables import events

TOPIC = "todo-events.fifo"


class HighWaterMarkRelay(Relay):
    """The naive relay: "publish where position > the last one I saw". Kept here only to show
    that the ordering test below catches the late-commit bug it has."""

    last_position = 0

    def select_pass(self, conn: Connection, *, held: bool = False) -> Selection:
        rows = conn.execute(
            select(*outbox.STORED_COLUMNS)
            .where(events.c.position > self.last_position)
            .order_by(events.c.position)
            .limit(100)
        ).all()
        if rows:
            self.last_position = rows[-1].position
        return Selection([outbox.stored_event(r) for r in rows], more=len(rows) == 100)


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
                if outbox.unpublished_count(conn) == 0:
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
    pg_engine: Engine,
    pg_url: str,
    aws: AwsWorld,
    worker_tap: TopicTap,
    make_relay: Callable[..., Relay],
) -> None:
    delivered = run_ordering_scenario(make_relay(pg_engine, aws), pg_engine, pg_url, worker_tap)
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
