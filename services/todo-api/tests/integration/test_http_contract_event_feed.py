"""Every write is one event on the owner's feed, which the worker and any client page through
by sequence, so the feed is part of the HTTP contract too (against PostgreSQL)."""

import pytest
from flask.testing import FlaskClient

from .conftest import TODOS, create, events


def test_every_write_appends_exactly_one_event_and_a_noop_put_none(client: FlaskClient) -> None:
    todo = create(client)
    url = f"{TODOS}/{todo['id']}"
    client.put(url, json={"completed": True})
    client.put(url, json={"completed": True})  # no change
    client.delete(url)
    feed = events(client)
    assert [(e["sequence"], e["data"]["change"]) for e in feed] == [
        (1, "created"),
        (2, "updated"),
        (3, "deleted"),
    ]
    assert all(e["event_type"] == "TodoChanged" and e["owner"] == "default" for e in feed)
    assert feed[2]["data"]["todo"]["completed"] is True


def test_todo_history_lists_its_events_and_404s_for_a_stranger(client: FlaskClient) -> None:
    todo = create(client)
    create(client)
    client.put(f"{TODOS}/{todo['id']}", json={"title": "renamed"})
    history = client.get(f"{TODOS}/{todo['id']}/events").json["events"]
    assert [e["data"]["todo"]["title"] for e in history] == ["A todo", "renamed"]
    assert client.get(f"{TODOS}/999/events").status_code == 404


def test_the_event_feed_pages_by_sequence(client: FlaskClient) -> None:
    for i in range(7):
        create(client, title=f"t{i}")
    first = client.get("/api/v1/events?after=0&limit=3").json
    assert [e["sequence"] for e in first["events"]] == [1, 2, 3]
    assert first["next_after"] == 3
    assert first["stream_version"] == 7
    rest = client.get(f"/api/v1/events?after={first['next_after']}&limit=100").json
    assert [e["sequence"] for e in rest["events"]] == [4, 5, 6, 7]
    empty = client.get("/api/v1/events?after=7").json
    assert empty["events"] == []
    assert empty["next_after"] == 7


@pytest.mark.parametrize("query", ["after=x", "after=-1", "limit=0", "limit=5000", "limit=ten"])
def test_bad_feed_parameters_are_400(client: FlaskClient, query: str) -> None:
    assert client.get(f"/api/v1/events?{query}").status_code == 400
