"""Owners take turns at the relay: one owner's backlog does not hold up another owner's events.

What is checked is the cause, not a time: at the moment the quiet owner's event is published,
how much of the busy owner's backlog went before it. A relay that publishes in one global order
would send the whole backlog first.
"""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, Select, func, select

from taskoverflow_events import quotas
from taskoverflow_testing.plugin import AwsWorld
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.domain.commands import CreateTodo
from todo_api.domain.todo import decide
from todo_api.relay.relay import Relay
from todo_api.store import event_store, outbox
from todo_api.store.tables import events

BACKLOG = 2_000
BATCH = 100


def backlog(engine: Engine, owner: str, count: int) -> None:
    """`count` events for `owner`, appended in a few large transactions (as a bulk import)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for start in range(0, count, 500):
        with engine.begin() as conn:
            payloads = [
                decide(CreateTodo(title=f"{owner} {i}"), None, now=now, new_id=i + 1)[0]
                for i in range(start, min(count, start + 500))
            ]
            event_store.append(conn, owner, payloads)


def published_at(engine: Engine, owner: str) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(
            select(func.max(events.c.published_at)).where(
                events.c.owner == owner, events.c.published_at.is_not(None)
            )
        ).scalar()


def published_before(engine: Engine, owner: str, moment: datetime) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(events.c.owner == owner, events.c.published_at <= moment)
            ).scalar_one()
        )


def wait_published(engine: Engine, owner: str, timeout: float = 60) -> datetime:
    deadline = time.monotonic() + timeout
    while (moment := published_at(engine, owner)) is None:
        assert time.monotonic() < deadline, f"{owner}'s event was never published"
        time.sleep(0.05)
    return moment


@pytest.fixture
def relay(
    pg_engine: Engine, aws: AwsWorld, make_relay: Callable[..., Relay]
) -> Iterator[Callable[[], None]]:
    relay = make_relay(pg_engine, aws, batch_size=BATCH)
    thread = threading.Thread(target=relay.run, daemon=True)
    yield thread.start
    relay.stop()
    thread.join(10)


def test_a_quiet_owner_goes_in_the_first_pass_however_long_anothers_backlog(
    pg_engine: Engine, relay: Callable[[], None]
) -> None:
    backlog(pg_engine, "alice", BACKLOG)  # waiting when the relay starts, as after an outage
    TodoApplication(pg_engine).create("bob", CreateTodo(title="bob's one"))
    relay()
    bob = wait_published(pg_engine, "bob")
    # Two owners in the pass: each gets half of it, and bob's one event rides in its first call.
    assert published_before(pg_engine, "alice", bob) <= BATCH // 2


def test_an_owners_calendar_request_goes_ahead_of_its_own_backlog_of_changes(
    pg_engine: Engine, relay: Callable[[], None]
) -> None:
    backlog(pg_engine, "alice", BACKLOG)  # waiting when the relay starts, as after an outage
    CalendarExport(pg_engine).request("alice")
    relay()
    requested = select(events.c.published_at).where(events.c.event_type == "CalendarRequested")
    deadline = time.monotonic() + 60
    while (moment := _scalar(pg_engine, requested)) is None:
        assert time.monotonic() < deadline, "alice's calendar request was never published"
        time.sleep(0.05)
    went_first = published_before(pg_engine, "alice", moment) - 1  # less the request itself
    # It travels in a FIFO group of its own, so it rides in the first call of the first pass.
    assert went_first < BATCH, f"{went_first} of alice's changes went before her request"


def _scalar(engine: Engine, query: Select[tuple[datetime | None]]) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def test_an_owner_who_writes_during_anothers_drain_waits_a_pass_or_two(
    pg_engine: Engine, relay: Callable[[], None]
) -> None:
    backlog(pg_engine, "alice", BACKLOG)
    relay()
    wait_published(pg_engine, "alice")
    TodoApplication(pg_engine).create("bob", CreateTodo(title="bob's one"))
    written = published_before(pg_engine, "alice", datetime(9999, 1, 1))
    bob = wait_published(pg_engine, "bob")
    went_first = published_before(pg_engine, "alice", bob) - written
    assert went_first <= 2 * BATCH, f"{went_first} of alice's events went before bob's"
    assert published_before(pg_engine, "alice", bob) < BACKLOG, "alice's backlog was not left"


def test_owners_take_turns_past_the_end_of_the_alphabet_and_round_again(
    pg_engine: Engine,
) -> None:
    owners = [f"owner-{c}" for c in "abcdefg"]
    for owner in owners:
        backlog(pg_engine, owner, 1)
    taken: list[list[str]] = []
    cursor = ""
    with pg_engine.connect() as conn:
        for _ in range(4):
            turn = outbox.pending_owners(conn, after=cursor, limit=3)
            taken.append(turn)
            cursor = turn[-1]
    assert taken == [
        ["owner-a", "owner-b", "owner-c"],
        ["owner-d", "owner-e", "owner-f"],
        ["owner-g", "owner-a", "owner-b"],  # the end reached: round again from the start
        ["owner-c", "owner-d", "owner-e"],
    ]


def test_a_paused_owner_is_skipped_and_the_pass_still_fills_up(
    pg_engine: Engine, aws: AwsWorld, make_relay: Callable[..., Relay]
) -> None:
    for owner in ("amy", "ben", "cal", "dee"):
        backlog(pg_engine, owner, 5)
    relay = make_relay(pg_engine, aws, batch_size=20, owners_per_pass=2)
    relay._refused.refuse("amy", "refused for the test")
    with pg_engine.connect() as conn:
        rows, more, _ = relay.select_pass(conn)
    assert [r.owner for r in rows] == ["ben", "cal"] * 5, "two owners, interleaved, amy skipped"
    assert more, "dee (and amy, later) still wait"


# While SNS answers slowly, a pass shrinks (relay/pacing.py), so an owner who starts writing
# during another's drain waits about one call, not a pass of ten: moto answers a PublishBatch
# into a deep queue in a fifth of a second or more, and at that pace a pass of 100 events held
# a quiet owner's calendar request for two seconds.
SLOW_CALL_SECONDS = 0.15


def test_while_sns_is_slow_an_owner_who_starts_writing_waits_about_one_call(
    pg_engine: Engine, aws: AwsWorld, make_relay: Callable[..., Relay]
) -> None:
    sns = aws.settings.client("sns")
    # Every PublishBatch still goes to the emulator over HTTP, a little later.
    sns.meta.events.register(
        "before-send.sns.PublishBatch", lambda **_: time.sleep(SLOW_CALL_SECONDS)
    )
    relay = make_relay(pg_engine, aws, sns=sns, batch_size=100)
    backlog(pg_engine, "alice", 1_500)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    went_first = []
    try:
        wait_published(pg_engine, "alice")  # a first pass: the relay has seen how slow SNS is
        for n in range(4):
            before = published_before(pg_engine, "alice", datetime(9999, 1, 1))
            TodoApplication(pg_engine).create(f"quiet-{n}", CreateTodo(title="one"))
            at = wait_published(pg_engine, f"quiet-{n}")
            went_first.append(published_before(pg_engine, "alice", at) - before)
            time.sleep(0.2)
    finally:
        relay.stop()
        thread.join(10)
    assert max(went_first) <= 3 * quotas.MAX_BATCH_ENTRIES, went_first
    assert published_before(pg_engine, "alice", datetime(9999, 1, 1)) < 1_500, "still draining"
