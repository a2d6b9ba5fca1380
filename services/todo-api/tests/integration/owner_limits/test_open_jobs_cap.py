"""The cap on an owner's unfinished (PENDING or STARTED) calendar jobs: past it, 429 with
Retry-After and nothing written; room again once a job finishes; other owners unaffected; and
it holds when many requests arrive at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy import Engine

from todo_api.store import jobs
from todo_api.store.tables import calendar_jobs, events

ICAL = "/api/v1/todos/ical"
AppOn = Callable[..., FlaskClient]


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
