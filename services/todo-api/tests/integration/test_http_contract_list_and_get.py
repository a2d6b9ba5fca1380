"""The classic TaskOverflow HTTP contract (DESIGN.md) for reading todos, against PostgreSQL:
list order, filters and the deadline window, which clients build their views on."""

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from .conftest import STAMP, TODOS, create


def in_days(days: float) -> str:
    return (datetime.now(UTC).replace(tzinfo=None) + timedelta(days=days)).strftime(STAMP)


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
