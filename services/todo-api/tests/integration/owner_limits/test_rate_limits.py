"""Per-owner rates: an owner past its budget of writes or calendar requests is answered 429 with
Retry-After, while another owner at the same moment is answered as usual, and the budget is one
across web processes. Time is a clock the test moves: nothing here waits, or times anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.clocks import ManualClock
from todo_api.store.tables import events, todos

TODOS = "/api/v1/todos"
ICAL = "/api/v1/todos/ical"
AppOn = Callable[..., FlaskClient]


def assert_limited(response: Any, setting: str) -> int:
    """A 429 as the API's other errors are, naming the setting; returns its Retry-After."""
    assert response.status_code == 429, response.json
    assert set(response.json) == {"error"}
    assert setting in response.json["error"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def test_an_owner_past_its_write_limit_gets_429_while_another_owner_is_answered(
    any_engine: Engine,
    app_on: AppOn,
    new_owner: Callable[..., dict[str, str]],
    rows_of: Callable[..., int],
    clock: ManualClock,
) -> None:
    client = app_on(any_engine, RATE_LIMIT_WRITES_PER_MINUTE="3")
    alice, bob = new_owner(any_engine, "alice"), new_owner(any_engine, "bob")
    made = [client.post(TODOS, json={"title": f"a{n}"}, headers=alice) for n in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    first = made[0].json["id"]

    refused = [
        client.post(TODOS, json={"title": "one too many"}, headers=alice),
        client.put(f"{TODOS}/{first}", json={"completed": True}, headers=alice),
        client.delete(f"{TODOS}/{first}", headers=alice),
    ]
    retry_after = min(assert_limited(r, "RATE_LIMIT_WRITES_PER_MINUTE") for r in refused)
    # The same moment, another owner: not slowed, not refused.
    theirs = client.post(TODOS, json={"title": "bob's"}, headers=bob)
    assert theirs.status_code == 201
    changed = client.put(f"{TODOS}/{theirs.json['id']}", json={"completed": True}, headers=bob)
    assert changed.status_code == 200
    # Refused writes did nothing; reads are not limited.
    assert rows_of(any_engine, events, "alice") == 3
    assert client.get(f"{TODOS}/{first}", headers=alice).json["completed"] is False

    clock.advance(retry_after)  # as told: one write's worth has come back, and only one
    assert client.post(TODOS, json={"title": "later"}, headers=alice).status_code == 201
    assert_limited(client.post(TODOS, json={"title": "again"}, headers=alice), "WRITES")
    assert rows_of(any_engine, todos, "alice") == 4


def test_the_write_limit_is_one_budget_across_two_web_processes(
    any_engine: Engine, app_on: AppOn, new_owner: Callable[..., dict[str, str]]
) -> None:
    """Two apps with engines of their own on one database, as two gunicorn workers or two
    tasks are: between them they let the owner through as often as one would."""
    url = any_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url), make_engine(url)]
    try:
        one, two = (app_on(engine, RATE_LIMIT_WRITES_PER_MINUTE="4") for engine in engines)
        alice = new_owner(any_engine, "alice")
        statuses = [
            (one if n % 2 else two).post(TODOS, json={"title": f"t{n}"}, headers=alice).status_code
            for n in range(8)
        ]
    finally:
        for engine in engines:
            engine.dispose()
    assert statuses == [201] * 4 + [429] * 4


def test_calendar_requests_have_a_budget_of_their_own(
    any_engine: Engine, app_on: AppOn, new_owner: Callable[..., dict[str, str]]
) -> None:
    client = app_on(any_engine, RATE_LIMIT_CALENDARS_PER_MINUTE="2", OPEN_JOBS_PER_OWNER="0")
    alice, bob = new_owner(any_engine, "alice"), new_owner(any_engine, "bob")
    assert [client.post(ICAL, headers=alice).status_code for _ in range(2)] == [202, 202]
    assert_limited(client.post(ICAL, headers=alice), "RATE_LIMIT_CALENDARS_PER_MINUTE")
    assert client.post(ICAL, headers=bob).status_code == 202
    # Writes are another budget: asking for calendars has not spent them.
    assert client.post(TODOS, json={"title": "still fine"}, headers=alice).status_code == 201
