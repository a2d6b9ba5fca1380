"""The classic TaskOverflow HTTP contract (DESIGN.md) for creating a todo, against PostgreSQL:
clients rely on its exact fields and stamps, and on a refused body storing nothing."""

from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import STAMP, TODOS, create, events


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
