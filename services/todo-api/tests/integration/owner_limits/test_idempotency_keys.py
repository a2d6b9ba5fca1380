"""`Idempotency-Key` on POSTs, as Stripe's API honours it: the same key and request get the
first answer back and nothing is done twice; the same key with another body or path is refused
(422); keys belong to their owner; a key whose request is still at work gets 409; a refused
request keeps no answer; after the retention a key is new again."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from taskoverflow_testing.clocks import ManualClock
from todo_api.store.tables import calendar_jobs, events, todos

TODOS = "/api/v1/todos"
ICAL = "/api/v1/todos/ical"
AppOn = Callable[..., FlaskClient]
Owner = Callable[..., dict[str, str]]


def key(value: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": value}


def test_the_same_key_gets_the_same_answer_and_makes_one_todo(
    any_engine: Engine, app_on: AppOn, new_owner: Owner, rows_of: Callable[..., int]
) -> None:
    client = app_on(any_engine)
    alice = key("7c1e5f0a-retry-me", new_owner(any_engine, "alice"))
    first = client.post(TODOS, json={"title": "pay rent", "completed": False}, headers=alice)
    # The same request again, its JSON spelt differently (key order, spacing).
    again = client.post(TODOS, data='{ "completed": false, "title": "pay rent" }', headers=alice)
    assert first.status_code == again.status_code == 201
    assert again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert rows_of(any_engine, todos, "alice") == 1
    assert rows_of(any_engine, events, "alice") == 1


def test_the_same_key_asks_for_one_calendar_job(
    any_engine: Engine, app_on: AppOn, new_owner: Owner, rows_of: Callable[..., int]
) -> None:
    client = app_on(any_engine)
    alice = key("calendar-once", new_owner(any_engine, "alice"))
    answers = [client.post(ICAL, json={"include_completed": False}, headers=alice) for _ in "ab"]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[1].json == answers[0].json
    assert rows_of(any_engine, calendar_jobs, "alice") == 1


def test_the_same_key_with_another_body_or_path_is_refused_with_422(
    any_engine: Engine, app_on: AppOn, new_owner: Owner, rows_of: Callable[..., int]
) -> None:
    client = app_on(any_engine)
    alice = key("one-request-only", new_owner(any_engine, "alice"))
    assert client.post(TODOS, json={"title": "a"}, headers=alice).status_code == 201
    other_body = client.post(TODOS, json={"title": "b"}, headers=alice)
    other_path = client.post(ICAL, headers=alice)
    for refused in (other_body, other_path):
        assert refused.status_code == 422
        assert set(refused.json) == {"error"}
        assert "Idempotency-Key" in refused.json["error"]
    assert rows_of(any_engine, todos, "alice") == 1
    assert rows_of(any_engine, calendar_jobs, "alice") == 0


def test_one_owners_key_never_answers_another(
    any_engine: Engine, app_on: AppOn, new_owner: Owner
) -> None:
    client = app_on(any_engine)
    alice = key("shared-k", new_owner(any_engine, "alice"))
    bob = key("shared-k", new_owner(any_engine, "bob"))
    hers = client.post(TODOS, json={"title": "alice's"}, headers=alice)
    his = client.post(TODOS, json={"title": "bob's"}, headers=bob)
    assert (hers.status_code, his.status_code) == (201, 201)
    assert his.json["id"] != hers.json["id"]
    assert "Idempotent-Replayed" not in his.headers
    assert client.post(TODOS, json={"title": "bob's"}, headers=bob).json == his.json
    assert [t["title"] for t in client.get(TODOS, headers=bob).json] == ["bob's"]


def test_a_refused_request_keeps_no_answer_so_its_retry_does_the_work(
    any_engine: Engine, app_on: AppOn, new_owner: Owner
) -> None:
    client = app_on(any_engine)
    alice = key("fix-and-retry", new_owner(any_engine, "alice"))
    assert client.post(TODOS, json={"title": ""}, headers=alice).status_code == 400
    made = client.post(TODOS, json={"title": "fixed"}, headers=alice)
    assert made.status_code == 201
    replayed = client.post(TODOS, json={"title": "fixed"}, headers=alice)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json == made.json


@pytest.mark.parametrize("bad", ["", " ", "x" * 256, "caf\u00e9"])
def test_an_unusable_key_is_400(
    pg_engine: Engine, app_on: AppOn, new_owner: Owner, rows_of: Callable[..., int], bad: str
) -> None:
    client = app_on(pg_engine)
    alice = new_owner(pg_engine, "alice")
    headers: Any = [*alice.items(), ("Idempotency-Key", bad.encode().decode("latin-1"))]
    answer = client.post(TODOS, json={"title": "t"}, headers=headers)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json["error"]
    assert rows_of(pg_engine, todos, "alice") == 0


def test_a_key_is_new_again_after_the_retention(
    any_engine: Engine, app_on: AppOn, new_owner: Owner, clock: ManualClock
) -> None:
    client = app_on(any_engine, IDEMPOTENCY_RETENTION_HOURS="24")
    alice = key("daily", new_owner(any_engine, "alice"))
    first = client.post(TODOS, json={"title": "water plants"}, headers=alice)
    clock.advance(23 * 3600)
    assert client.post(TODOS, json={"title": "water plants"}, headers=alice).json == first.json
    clock.advance(2 * 3600)
    later = client.post(TODOS, json={"title": "water plants"}, headers=alice)
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later.headers
    assert later.json["id"] != first.json["id"]


def test_two_requests_with_one_key_at_once_do_the_work_once(
    pg_engine: Engine, app_on: AppOn, new_owner: Owner, rows_of: Callable[..., int]
) -> None:
    """The first request is held inside its write (the test holds the owner's stream row);
    the second, with the same key, is told 409 at once instead of doing the work too."""
    app = app_on(pg_engine).application
    alice = new_owner(pg_engine, "alice")
    body = {"title": "exactly once"}
    assert app.test_client().post(TODOS, json={"title": "before"}, headers=alice).status_code == 201

    def post() -> Any:
        return app.test_client().post(TODOS, json=body, headers=key("at-once", alice))

    with ThreadPoolExecutor(max_workers=2) as pool, pg_engine.connect() as holder:
        lock = holder.begin()
        try:
            holder.execute(text("SELECT version FROM streams WHERE owner = 'alice' FOR UPDATE"))
            first = pool.submit(post)
            wait_for_a_lock_wait(pg_engine)
            second = pool.submit(post).result(timeout=30)
        finally:
            lock.rollback()
        made = first.result(timeout=30)
    assert second.status_code == 409
    assert int(second.headers["Retry-After"]) >= 1
    assert made.status_code == 201
    replayed = app.test_client().post(TODOS, json=body, headers=key("at-once", alice))
    assert (replayed.status_code, replayed.data) == (201, made.data)
    assert rows_of(pg_engine, todos, "alice") == 2


def wait_for_a_lock_wait(engine: Engine, attempts: int = 300) -> None:
    """Until some session of this database waits for a lock (bounded: 30 s)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(attempts):
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        time.sleep(0.1)
    raise AssertionError("the first request never reached the held row")
