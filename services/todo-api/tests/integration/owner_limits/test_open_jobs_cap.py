"""The cap on an owner's open calendar jobs (PENDING or STARTED, or finished with a webhook whose
fate is not yet known): past it, 429 with Retry-After and nothing written; room again once a job
finishes, or its webhook is reported, or a bound passes; other owners unaffected; and it holds
when many requests arrive at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, update

from taskoverflow_events import decode
from taskoverflow_testing.contracts import sample
from todo_api.calendar_export import CalendarExport
from todo_api.consumer.handlers import handlers
from todo_api.consumer.housekeeping import fail_overdue_jobs
from todo_api.store import jobs
from todo_api.store.tables import calendar_jobs, events

ICAL = "/api/v1/todos/ical"
HOOK = {"callback_url": "https://hooks.example.com/calendar"}
AppOn = Callable[..., FlaskClient]


def consume(engine: Engine, event_type: str, version: int = 1, **data: Any) -> None:
    """As todo-api's consumer process applies an event from the calendar-events queue."""
    event = decode(json.dumps(sample(event_type, version, **data)))
    handlers(CalendarExport(engine))[event_type](event)


def webhook_reported(engine: Engine, job_id: str, *, delivered: bool) -> None:
    notification = {
        "url": HOOK["callback_url"],
        "delivered": delivered,
        "attempts": 1,
        "status_code": 204 if delivered else 410,
        "delivery_id": "d",
        "error": None if delivered else "410 Gone",
    }
    consume(engine, "CalendarReady", 2, job_id=job_id, notification=notification)


def age(engine: Engine, job_id: str, by: timedelta) -> None:
    """As if the job (asked for just now) had been asked for `by` ago."""
    asked = datetime.now(UTC).replace(tzinfo=None) - by
    with engine.begin() as conn:
        conn.execute(
            update(calendar_jobs).where(calendar_jobs.c.job_id == job_id).values(requested_at=asked)
        )


def test_an_owner_at_its_open_jobs_cap_gets_429_until_one_finishes(
    any_engine: Engine,
    app_on: AppOn,
    new_owner: Callable[..., dict[str, str]],
    rows_of: Callable[..., int],
) -> None:
    client = app_on(any_engine, OPEN_JOBS_PER_OWNER="2")
    alice, bob = new_owner(any_engine, "alice"), new_owner(any_engine, "bob")
    first, second = (client.post(ICAL, headers=alice) for _ in range(2))
    assert (first.status_code, second.status_code) == (202, 202)
    with any_engine.begin() as conn:
        jobs.mark_started(conn, first.json["task_id"], datetime.now(UTC).replace(tzinfo=None))

    refused = client.post(ICAL, headers=alice)
    assert refused.status_code == 429
    assert set(refused.json) == {"error"}
    assert "PENDING or STARTED" in refused.json["error"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert rows_of(any_engine, calendar_jobs, "alice") == 2
    assert rows_of(any_engine, events, "alice") == 2, "a refused request appends nothing"
    assert client.post(ICAL, headers=bob).status_code == 202

    with any_engine.begin() as conn:
        now = datetime.now(UTC).replace(tzinfo=None)
        jobs.record_outcome(conn, first.json["task_id"], now, status=jobs.SUCCESS)
    assert client.post(ICAL, headers=alice).status_code == 202
    assert client.post(ICAL, headers=alice).status_code == 429


def test_the_cap_holds_when_many_requests_arrive_at_once(
    pg_engine: Engine,
    app_on: AppOn,
    new_owner: Callable[..., dict[str, str]],
    rows_of: Callable[..., int],
) -> None:
    """Each request counts the open jobs after taking the owner's stream row, so requests that
    arrive together queue there and each sees the ones before it (PostgreSQL, many threads)."""
    app = app_on(pg_engine, OPEN_JOBS_PER_OWNER="3").application
    alice = new_owner(pg_engine, "alice")

    def ask(_: int) -> int:
        return app.test_client().post(ICAL, headers=alice).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(ask, range(8)))
    assert sorted(statuses) == [202] * 3 + [429] * 5
    assert rows_of(pg_engine, calendar_jobs, "alice") == 3


def test_finished_jobs_whose_webhooks_are_pending_count_until_a_report_arrives(
    any_engine: Engine,
    app_on: AppOn,
    new_owner: Callable[..., dict[str, str]],
    rows_of: Callable[..., int],
) -> None:
    """A job finishes at CalendarGenerated, before its webhook is delivered: were it no longer
    counted then, an owner could pile up deliveries in the notifier without bound."""
    client = app_on(any_engine, OPEN_JOBS_PER_OWNER="2")
    alice, bob = new_owner(any_engine, "alice"), new_owner(any_engine, "bob")
    first, second = (client.post(ICAL, json=HOOK, headers=alice).json["task_id"] for _ in "ab")
    for job_id in (first, second):
        consume(any_engine, "CalendarGenerated", job_id=job_id)
        status = client.get(f"{ICAL}/{job_id}/status", headers=alice).json
        assert (status["task_status"], status["notification"]["state"]) == ("SUCCESS", "pending")

    refused = client.post(ICAL, json=HOOK, headers=alice)
    assert refused.status_code == 429
    assert "webhook" in refused.json["error"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.post(ICAL, headers=alice).status_code == 429, "the cap is on jobs, any job"
    assert rows_of(any_engine, calendar_jobs, "alice") == 2
    assert client.post(ICAL, json=HOOK, headers=bob).status_code == 202

    webhook_reported(any_engine, first, delivered=True)
    assert client.post(ICAL, json=HOOK, headers=alice).status_code == 202
    assert client.post(ICAL, json=HOOK, headers=alice).status_code == 429


def test_a_webhook_whose_fate_never_comes_stops_counting_at_a_deadline(
    any_engine: Engine, app_on: AppOn, new_owner: Callable[..., dict[str, str]]
) -> None:
    """An unfinished job past JOB_DEADLINE_SECONDS is failed with its webhook by housekeeping;
    a finished job whose CalendarReady is lost stops counting NOTIFICATION_DEADLINE_SECONDS
    after it was asked for. Either way the owner's room comes back."""
    client = app_on(any_engine, OPEN_JOBS_PER_OWNER="2", NOTIFICATION_DEADLINE_SECONDS="1800")
    alice = new_owner(any_engine, "alice")
    reported_lost, never_made = (
        client.post(ICAL, json=HOOK, headers=alice).json["task_id"] for _ in "ab"
    )
    consume(any_engine, "CalendarGenerated", job_id=reported_lost)
    assert client.post(ICAL, json=HOOK, headers=alice).status_code == 429

    age(any_engine, never_made, timedelta(minutes=11))
    assert fail_overdue_jobs(any_engine, deadline_seconds=600) == [never_made]
    failed = client.get(f"{ICAL}/{never_made}/status", headers=alice).json
    assert (failed["notification"]["state"], failed["notified"]) == ("failed", False)
    assert client.post(ICAL, json=HOOK, headers=alice).status_code == 202
    assert client.post(ICAL, json=HOOK, headers=alice).status_code == 429

    age(any_engine, reported_lost, timedelta(minutes=31))
    assert client.post(ICAL, json=HOOK, headers=alice).status_code == 202
