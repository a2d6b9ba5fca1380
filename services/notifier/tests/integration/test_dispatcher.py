"""A slow receiver costs only its own owner: the dispatcher runs attempts side by side, each
ends by its deadline, one owner never holds more than its share of workers, two notifiers never
make the same attempt at once, a crashed notifier's claim is taken over after its lease, and a
stop lets attempts in flight end."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from notifier.store import claims
from notifier.store import webhook_deliveries as store
from notifier.store.migrate import upgrade
from notifier.store.tables import now_utc, webhook_deliveries
from notifier.webhooks import DELIVERY_HEADER
from sqlalchemy import func, select

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.processes import ServiceProcess

Receivers = Callable[..., Any]


def test_a_receiver_that_drips_holds_up_no_one_else(notifiers: Any, receivers: Receivers) -> None:
    """Owner A's receiver accepts, then sends a byte every 2 s; owner B's answers at once. B's
    webhook arrives while A's connection is still open, and A's attempt ends at the deadline
    and is made again later."""
    drip = receivers(["drip"], drip_every=2.0, hold_for=20)
    fast = receivers([204])
    notifiers.start(webhook_deadline_seconds=1.5, webhook_attempts=4)
    slow = notifiers.outcome("CalendarGenerated", drip.url, owner="owner-a")
    notifiers.publish(slow)
    assert drip.wait_for(1, timeout=15), "owner A's attempt started"
    published = time.monotonic()
    notifiers.publish(notifiers.outcome("CalendarGenerated", fast.url, owner="owner-b"))
    [received] = fast.wait_for(1, timeout=15)
    assert received.at - published < 6, "B's webhook went out within seconds"
    assert drip.open_at(received.at), "while A's receiver still held its connection"
    attempts = drip.wait_for(2, timeout=15)
    first = attempts[0]
    assert first.closed is not None
    assert 1.3 < first.closed - first.opened < 4.0, "A's attempt ended at the 1.5 s deadline"
    assert {a.headers[DELIVERY_HEADER.lower()] for a in attempts} == {slow["event_id"]}
    ended = notifiers.wait_until_ended(slow["event_id"], timeout=30)
    assert (ended.state, ended.attempts, ended.status_code) == ("failed", 4, None)
    assert ended.last_error == "no answer within the 1.5 s deadline"


def test_one_owner_never_holds_more_than_its_share_of_workers(
    notifiers: Any, receivers: Receivers
) -> None:
    stuck = receivers(["hang"])
    fast = receivers([204])
    notifiers.start(webhook_deadline_seconds=3.0, webhook_concurrency=8, webhook_per_owner=2)
    notifiers.publish(
        *[notifiers.outcome("CalendarGenerated", stuck.url, owner="owner-a") for _ in range(6)]
    )
    assert len(stuck.wait_for(2, timeout=15)) >= 2
    others = [notifiers.outcome("CalendarGenerated", fast.url, owner=f"b-{n}") for n in range(3)]
    notifiers.publish(*others)
    received = fast.wait_for(3, timeout=15)
    assert len(received) == 3, "everyone else's webhooks went on"
    assert all(stuck.open_at(r.at) for r in received), "while owner A's receiver was stuck"
    assert len(stuck.wait_for(4, timeout=15)) >= 4, "A's next attempts once the first ended"
    assert stuck.most_open == 2, "never more than WEBHOOK_PER_OWNER of A's attempts at once"


def test_two_notifiers_never_make_the_same_attempt_at_once(
    notifiers: Any, receivers: Receivers
) -> None:
    hook = receivers([204])
    notifiers.start(webhook_concurrency=2)
    notifiers.start(webhook_concurrency=2)
    jobs = [notifiers.outcome("CalendarGenerated", hook.url, owner=f"o-{n % 3}") for n in range(12)]
    notifiers.publish(*jobs)
    for job in jobs:
        notifiers.wait_until_ended(job["event_id"], timeout=30)
    ids = sorted(r.headers[DELIVERY_HEADER.lower()] for r in hook.wait_for(12, timeout=1))
    assert ids == sorted(job["event_id"] for job in jobs), "each delivery once, and only once"


def test_a_claim_left_by_a_crashed_notifier_is_taken_over_after_its_lease(
    notifiers: Any, receivers: Receivers
) -> None:
    hook = receivers([204])
    job = notifiers.outcome("CalendarGenerated", hook.url)
    new = store.NewDelivery(
        delivery_id=uuid.UUID(job["event_id"]),
        job_id=uuid.UUID(job["data"]["job_id"]),
        owner="default",
        url=hook.url,
        event_type="CalendarGenerated",
        body="{}",
        outcome="success",
    )
    with notifiers.engine.begin() as conn:
        store.record(conn, [new], now=now_utc())
        # A notifier claims it for 2 s, then dies before its attempt ends.
        claimed, _ = claims.claim_due(
            conn, slots=1, per_owner=2, lease=timedelta(seconds=2), now=now_utc()
        )
    crashed_at = time.monotonic()
    assert [c.delivery_id for c in claimed] == [job["event_id"]]
    notifiers.start()
    [request] = hook.wait_for(1, timeout=15)
    assert 1.7 < request.at - crashed_at < 5.0, "made again once the lease ran out, not before"
    assert request.headers[DELIVERY_HEADER.lower()] == job["event_id"]
    ended = notifiers.wait_until_ended(job["event_id"], timeout=10)
    assert (ended.state, ended.attempts) == ("delivered", 2), "the lost attempt counts"


def test_a_delivery_whose_every_claim_was_lost_ends_as_failed(
    notifiers: Any, receivers: Receivers
) -> None:
    hook = receivers([204])
    job = notifiers.outcome("CalendarGenerated", hook.url)
    new = store.NewDelivery(
        delivery_id=uuid.UUID(job["event_id"]),
        job_id=uuid.UUID(job["data"]["job_id"]),
        owner="default",
        url=hook.url,
        event_type="CalendarGenerated",
        body="{}",
        outcome="success",
    )
    with notifiers.engine.begin() as conn:
        store.record(conn, [new], now=now_utc())
    for _ in range(3):  # three attempts, each claimed and then never settled (a crash, a bug)
        with notifiers.engine.begin() as conn:
            claims.claim_due(conn, slots=1, per_owner=2, lease=timedelta(0), now=now_utc())
    with notifiers.engine.begin() as conn:
        claimed, _ = claims.claim_due(
            conn,
            slots=1,
            per_owner=2,
            lease=timedelta(seconds=60),
            now=now_utc(),
            max_attempts=3,
        )
        row = conn.execute(select(webhook_deliveries)).mappings().one()
    assert claimed == [], "not claimed a fourth time"
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert hook.seen == []


def test_a_stop_lets_attempts_in_flight_end_and_claims_nothing_more(
    notifiers: Any, receivers: Receivers
) -> None:
    stuck = receivers(["hang"])
    process = notifiers.start(webhook_deadline_seconds=2.0)
    [(_, thread)] = notifiers.running
    job = notifiers.outcome("CalendarGenerated", stuck.url)
    notifiers.publish(job)
    [held] = stuck.wait_for(1, timeout=15)
    process.stop()
    thread.join(timeout=15)
    assert not thread.is_alive()
    assert held.closed is not None
    assert held.closed - held.opened < 2.6, "the attempt in flight ended by its deadline"
    delivery = notifiers.delivery(job["event_id"])
    assert (delivery.state, delivery.attempts, delivery.claim_token) == ("pending", 1, None)
    time.sleep(1.0)  # the retry falls due; nobody claims it any more
    assert len(stuck.seen) == 1
    assert notifiers.delivery(job["event_id"]).claim_token is None


def test_claims_work_on_sqlite_for_make_run(
    notifiers: Any, receivers: Receivers, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/notifier.db"
    engine = make_engine(url)
    upgrade(engine)
    hook = receivers([503, 204])
    notifiers.start(database_url=url)
    jobs = [notifiers.outcome("CalendarGenerated", hook.url, owner=f"o-{n}") for n in range(3)]
    notifiers.publish(*jobs)
    assert len(hook.wait_for(4, timeout=20)) == 4
    deadline = time.monotonic() + 10
    delivered = select(func.count()).where(webhook_deliveries.c.state == "delivered")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(delivered).scalar() == 3:
                break
        time.sleep(0.1)
    with engine.connect() as conn:
        assert conn.execute(delivered).scalar() == 3
    engine.dispose()


def test_sigterm_stops_the_process_once_its_attempts_in_flight_have_ended(
    notifiers: Any, receivers: Receivers, tmp_path: Path
) -> None:
    """The real `python -m notifier.worker`, stopped as ECS stops it."""
    stuck = receivers(["hang"])
    env = {
        **notifiers.aws.env(),
        "NOTIFIER_DATABASE_URL": notifiers.database_url,
        "WEBHOOK_SIGNING_KEY": notifiers.signing_key,
        "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WEBHOOK_DEADLINE_SECONDS": "3",
        "CONSUMER_WAIT_SECONDS": "1",
    }
    process = ServiceProcess("notifier.worker", env, tmp_path, name="notifier").start()
    try:
        job = notifiers.outcome("CalendarGenerated", stuck.url)
        notifiers.publish(job)
        [held] = stuck.wait_for(1, timeout=30)
        asked = time.monotonic()
        code = process.stop(timeout=15)
        stopped = time.monotonic() - asked
    finally:
        process.kill()
    assert code == 0, process.log()
    assert stopped < 6.0, "bounded by the attempt's deadline (3 s) and the receive (1 s)"
    assert held.closed is not None
    assert held.closed - held.opened < 3.6, "the attempt in flight ended by its deadline"
    assert "dispatcher stopped" in process.log()
    delivery = notifiers.delivery(job["event_id"])
    assert (delivery.state, delivery.attempts, delivery.claim_token) == ("pending", 1, None)
