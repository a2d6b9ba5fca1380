"""GET /api/v1/calendar.ics when the feed object is missing, on PostgreSQL and moto: an empty
calendar only for an owner who never wrote anything; for anyone else 503 with Retry-After, since
calendar apps take an empty 200 as "every event was deleted"."""

from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from taskoverflow_events.calendar_keys import feed_key
from taskoverflow_testing.plugin import AwsWorld
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.config import Settings

FEED = "/api/v1/calendar.ics"


@pytest.fixture
def world_client(settings: Settings, application: TodoApplication, aws: AwsWorld) -> FlaskClient:
    """A client whose calendar bucket exists (the test's own topology) and holds no feed."""
    return create_app(replace(settings, aws=aws.settings), application=application).test_client()


def test_an_owner_who_never_wrote_anything_gets_a_valid_empty_calendar(
    world_client: FlaskClient,
) -> None:
    response = world_client.get(FEED)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert response.data.endswith(b"END:VCALENDAR\r\n")
    assert b"BEGIN:VEVENT" not in response.data


def test_a_missing_feed_of_an_owner_with_todos_is_503_with_retry_after_never_empty(
    world_client: FlaskClient, aws: AwsWorld
) -> None:
    created = world_client.post(
        "/api/v1/todos", json={"title": "keep me", "deadline_at": "2026-12-01T09:00:00"}
    )
    assert created.status_code == 201
    response = world_client.get(FEED)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error"}
    assert b"VCALENDAR" not in response.data
    # Once the worker has written the feed, it is served.
    feed = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    s3 = aws.settings.client("s3")
    s3.put_object(Bucket=aws.topology.bucket, Key=feed_key("default"), Body=feed)
    assert world_client.get(FEED).data == feed
    # Lost again (deleted by hand, say): 503 again, not an empty calendar.
    s3.delete_object(Bucket=aws.topology.bucket, Key=feed_key("default"))
    assert world_client.get(FEED).status_code == 503


def test_an_owner_whose_todos_were_all_deleted_still_gets_503_for_a_missing_feed(
    world_client: FlaskClient,
) -> None:
    todo = world_client.post("/api/v1/todos", json={"title": "gone"}).json
    assert world_client.delete(f"/api/v1/todos/{todo['id']}").status_code in (200, 204)
    response = world_client.get(FEED, headers={"If-None-Match": '"an-old-etag"'})
    assert response.status_code == 503, "only the worker's feed can say the calendar is empty"
