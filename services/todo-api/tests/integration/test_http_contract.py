"""The classic TaskOverflow HTTP contract (DESIGN.md), against PostgreSQL."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

TODOS = "/api/v1/todos"
STAMP = "%Y-%m-%dT%H:%M:%S"


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post(TODOS, json={"title": "A todo", **fields})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


def events(client: FlaskClient) -> list[dict[str, Any]]:
    return client.get("/api/v1/events?limit=1000").json["events"]  # type: ignore[index]


def in_days(days: float) -> str:
    return (datetime.now(UTC).replace(tzinfo=None) + timedelta(days=days)).strftime(STAMP)


def test_health(client: FlaskClient) -> None:
    for path in ("/api/v1/health", "/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json == {"status": "ok"}


def test_create_returns_201_with_defaults_and_contract_timestamps(client: FlaskClient) -> None:
    response = client.post(TODOS, json={"title": "Watch CSSE6400 Lecture"})
    assert response.status_code == 201
    body = response.json
    assert set(body) == {
        "id",
        "title",
        "description",
        "completed",
        "deadline_at",
        "created_at",
        "updated_at",
    }
    assert isinstance(body["id"], int)
    assert body["completed"] is False
    assert body["deadline_at"] is None
    datetime.strptime(body["created_at"], STAMP)
    assert body["created_at"] == body["updated_at"]
    assert response.headers["ETag"]


def test_create_keeps_every_given_field(client: FlaskClient) -> None:
    body = create(
        client, title="T", description="D", completed=True, deadline_at="2026-06-01T10:00:00"
    )
    assert (body["title"], body["description"], body["completed"], body["deadline_at"]) == (
        "T",
        "D",
        True,
        "2026-06-01T10:00:00",
    )
    assert client.get(f"{TODOS}/{body['id']}").json == body


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"title": ""},
        {"title": "  "},
        {"title": None},
        {"title": 42},
        {"title": "x", "completed": "true"},
        {"title": "x", "deadline_at": "2026-02-30T09:00:00"},
        {"title": "x", "deadline_at": "next tuesday"},
        {"title": "x", "deadline_at": 17},
        {"title": "x", "unknown": 1},
        {"title": "x", "id": 5},
        [{"title": "x"}],
        "title",
    ],
)
def test_bad_create_is_400_json_and_stores_nothing(client: FlaskClient, payload: Any) -> None:
    response = client.post(TODOS, json=payload)
    assert response.status_code == 400
    assert set(response.json) == {"error"}
    assert response.json["error"]
    assert client.get(TODOS).json == []
    assert events(client) == []


@pytest.mark.parametrize("raw", ["{not json", "", "null", "123"])
def test_unparseable_bodies_are_400(client: FlaskClient, raw: str) -> None:
    response = client.post(TODOS, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json


def test_an_oversized_body_is_413_json(client: FlaskClient) -> None:
    response = client.post(TODOS, data="x" * 70_000, content_type="application/json")
    assert response.status_code == 413
    assert "error" in response.json


def test_list_is_oldest_first(client: FlaskClient) -> None:
    ids = [create(client, title=f"t{i}")["id"] for i in range(5)]
    assert [t["id"] for t in client.get(TODOS).json] == ids


def test_list_filters_by_completed(client: FlaskClient) -> None:
    done = create(client, completed=True)["id"]
    open_ = create(client)["id"]
    assert [t["id"] for t in client.get(f"{TODOS}?completed=true").json] == [done]
    assert [t["id"] for t in client.get(f"{TODOS}?completed=false").json] == [open_]
    assert client.get(f"{TODOS}?completed=maybe").status_code == 400


def test_window_includes_past_deadlines_and_excludes_later_and_undated(client: FlaskClient) -> None:
    past = create(client, deadline_at=in_days(-3))["id"]
    soon = create(client, deadline_at=in_days(2))["id"]
    create(client, deadline_at=in_days(10))
    create(client)
    assert [t["id"] for t in client.get(f"{TODOS}?window=5").json] == [past, soon]
    assert [t["id"] for t in client.get(f"{TODOS}?window=0").json] == [past]


@pytest.mark.parametrize("query", ["window=abc", "window=-1", "window=1.5"])
def test_bad_window_is_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"{TODOS}?{query}")
    assert response.status_code == 400
    assert "window" in response.json["error"]


def test_get_absent_is_404_json(client: FlaskClient) -> None:
    response = client.get(f"{TODOS}/999")
    assert response.status_code == 404
    assert "error" in response.json


def test_put_changes_only_the_fields_given(client: FlaskClient) -> None:
    todo = create(client, title="T", description="D", deadline_at="2026-06-01T10:00:00")
    response = client.put(f"{TODOS}/{todo['id']}", json={"completed": True})
    assert response.status_code == 200
    after = response.json
    assert after["completed"] is True
    assert {k: after[k] for k in ("title", "description", "deadline_at", "created_at")} == {
        k: todo[k] for k in ("title", "description", "deadline_at", "created_at")
    }
    assert client.get(f"{TODOS}/{todo['id']}").json == after


def test_put_may_repeat_the_id_but_not_change_it(client: FlaskClient) -> None:
    todo = create(client)
    assert (
        client.put(f"{TODOS}/{todo['id']}", json={"id": todo["id"], "title": "B"}).status_code
        == 200
    )
    response = client.put(f"{TODOS}/{todo['id']}", json={"id": todo["id"] + 1, "title": "C"})
    assert response.status_code == 400
    assert client.get(f"{TODOS}/{todo['id']}").json["title"] == "B"


@pytest.mark.parametrize(
    "payload",
    [{"nope": 1}, {"title": ""}, {"title": None}, {"completed": None}, {"deadline_at": "x"}],
)
def test_bad_put_is_400_and_changes_nothing(client: FlaskClient, payload: Any) -> None:
    todo = create(client)
    before = len(events(client))
    response = client.put(f"{TODOS}/{todo['id']}", json=payload)
    assert response.status_code == 400
    assert response.json["error"]
    assert client.get(f"{TODOS}/{todo['id']}").json == todo
    assert len(events(client)) == before


def test_put_or_delete_absent_is_404(client: FlaskClient) -> None:
    assert client.put(f"{TODOS}/404", json={"title": "x"}).status_code == 404
    assert client.delete(f"{TODOS}/404").status_code == 404


def test_delete_returns_the_todo_then_it_is_gone(client: FlaskClient) -> None:
    todo = create(client)
    response = client.delete(f"{TODOS}/{todo['id']}")
    assert response.status_code == 200
    assert response.json == todo
    assert client.get(f"{TODOS}/{todo['id']}").status_code == 404
    assert client.get(TODOS).json == []


def test_ids_are_never_reused_after_a_delete(client: FlaskClient) -> None:
    first = create(client)["id"]
    client.delete(f"{TODOS}/{first}")
    assert create(client)["id"] > first


def test_if_match_guards_put_and_delete(client: FlaskClient) -> None:
    todo = create(client)
    url = f"{TODOS}/{todo['id']}"
    etag = client.get(url).headers["ETag"]
    ok = client.put(url, json={"title": "v2"}, headers={"If-Match": etag})
    assert ok.status_code == 200
    assert ok.headers["ETag"] != etag
    stale = client.put(url, json={"title": "v3"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert "error" in stale.json
    assert client.delete(url, headers={"If-Match": etag}).status_code == 412
    assert client.get(url).json["title"] == "v2"
    assert client.delete(url, headers={"If-Match": ok.headers["ETag"]}).status_code == 200


def race_two_puts(client: FlaskClient, url: str, etag: str) -> list[int]:
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def write(title: str) -> None:
        barrier.wait()
        response = client.put(url, json={"title": title}, headers={"If-Match": etag})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(t,)) for t in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_two_concurrent_writers_with_the_same_etag_never_both_win(client: FlaskClient) -> None:
    for _ in range(10):
        todo = create(client)
        url = f"{TODOS}/{todo['id']}"
        statuses = race_two_puts(client, url, client.get(url).headers["ETag"])
        assert sorted(statuses) == [200, 412]
        history = client.get(f"{url}/events").json["events"]
        assert [e["data"]["change"] for e in history] == ["created", "updated"]


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


def test_unknown_routes_and_methods_answer_json(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert "error" in missing.json
    wrong = client.patch(TODOS)
    assert wrong.status_code == 405
    assert "error" in wrong.json


def test_the_request_id_is_echoed_and_recorded_as_correlation_id(client: FlaskClient) -> None:
    response = client.post(TODOS, json={"title": "x"}, headers={"X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42"
    assert events(client)[0]["correlation_id"] == "req-42"


@pytest.mark.parametrize("request_id", ["x" * 5000, "bad\x01id", ""])
def test_an_unusable_request_id_is_replaced_not_stored(
    client: FlaskClient, request_id: str
) -> None:
    response = client.post(TODOS, json={"title": "x"}, headers={"X-Request-ID": request_id})
    assert response.status_code == 201
    echoed = response.headers["X-Request-ID"]
    assert echoed != request_id
    assert len(echoed) <= 100
    assert events(client)[0]["correlation_id"] == echoed
