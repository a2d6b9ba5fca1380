"""The classic TaskOverflow HTTP contract (DESIGN.md) for changing todos, against PostgreSQL:
a refused change must change nothing, and two writers holding one ETag must not both win."""

import threading
from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import TODOS, create, events


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
