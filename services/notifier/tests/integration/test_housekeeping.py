"""Bookkeeping does not grow forever, and never forgets what it still owes: finished, reported
deliveries (and the previous release's log) go after RETENTION_DAYS; pending or unreported ones
stay. An outcome the previous release already delivered is not sent again by this one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.delivery.housekeeping import Housekeeper
from notifier.delivery.reports import Reporter
from notifier.store.tables import deliveries, webhook_deliveries
from sqlalchemy import select

from taskoverflow_events.publisher import Publisher

Receivers = Callable[..., Any]
NOW = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as stored


def delivery(state: str, finished_days_ago: float | None, *, reported: bool) -> dict[str, Any]:
    finished = NOW - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    return {
        "delivery_id": str(uuid.uuid4()),
        "job_id": str(uuid.uuid4()),
        "owner": "default",
        "url": "https://hooks.example.com/x",
        "event_type": "CalendarGenerated",
        "body": "{}",
        "outcome": "success",
        "state": state,
        "attempts": 1,
        "next_attempt_at": NOW - timedelta(days=40),
        "created_at": NOW - timedelta(days=40),
        "finished_at": finished,
        "reported_at": finished if reported else None,
    }


def test_old_finished_deliveries_are_forgotten_and_nothing_still_owed(notifiers: Any) -> None:
    rows = {
        "old": delivery("delivered", 31, reported=True),
        "old-failed": delivery("failed", 31, reported=True),
        "old-unreported": delivery("failed", 31, reported=False),
        "pending": delivery("pending", None, reported=False),
        "recent": delivery("delivered", 29, reported=True),
    }
    legacy = [
        {"event_id": str(uuid.uuid4()), "days": days, "finished": finished}
        for days, finished in [(31, True), (31, False), (29, True)]
    ]
    with notifiers.engine.begin() as conn:
        conn.execute(webhook_deliveries.insert(), list(rows.values()))
        for row in legacy:
            touched = NOW - timedelta(days=row["days"])
            conn.execute(
                deliveries.insert().values(
                    event_id=row["event_id"],
                    job_id=str(uuid.uuid4()),
                    state="finished" if row["finished"] else "claimed",
                    attempts=1,
                    claimed_at=touched,
                    finished_at=touched if row["finished"] else None,
                )
            )
    publisher = Publisher(notifiers.aws.settings.client("sns"), "arn:aws:sns:us-east-1:1:unused")
    housekeeper = Housekeeper(
        notifiers.engine, Reporter(notifiers.engine, publisher, version=1), retention_days=30
    )
    assert housekeeper.purge() == 4
    with notifiers.engine.connect() as conn:
        kept = set(conn.execute(select(webhook_deliveries.c.delivery_id)).scalars())
        kept_legacy = set(conn.execute(select(deliveries.c.event_id)).scalars())
    assert kept == {rows[k]["delivery_id"] for k in ("old-unreported", "pending", "recent")}
    assert kept_legacy == {legacy[2]["event_id"]}
    assert housekeeper.purge() == 0


def test_an_outcome_the_previous_release_delivered_is_not_sent_again(
    notifiers: Any, receivers: Receivers
) -> None:
    hook = receivers([204])
    job = notifiers.outcome("CalendarGenerated", hook.url)
    with notifiers.engine.begin() as conn:
        conn.execute(
            deliveries.insert().values(
                event_id=job["event_id"],
                job_id=job["data"]["job_id"],
                state="finished",
                url=hook.url,
                delivered=True,
                attempts=1,
                status_code=204,
                claimed_at=NOW,
                finished_at=NOW,
            )
        )
    notifiers.start()
    notifiers.publish(job)
    notifiers.wait_until_consumed(timeout=20)
    time.sleep(0.5)
    assert notifiers.delivery(job["event_id"]) is None
    assert hook.seen == []
