"""What every route shares, against PostgreSQL: health, JSON errors for unknown routes, and a
request id a client can trace through to the events it caused."""

import pytest
from flask.testing import FlaskClient

from .conftest import TODOS, events


def test_health(client: FlaskClient) -> None:
    for path in ("/api/v1/health", "/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json == {"status": "ok"}


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
