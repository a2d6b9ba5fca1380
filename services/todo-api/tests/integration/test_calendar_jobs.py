"""The calendar-export contract on todo-api's side: request, status, result; and the consumer's
job updates, which must be idempotent and only ever move a job forward."""

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from taskoverflow_events import decode
from taskoverflow_testing.contracts import sample
from taskoverflow_testing.plugin import AwsWorld
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.consumer.handlers import batch_handlers, handlers

ICAL = "/api/v1/todos/ical"


def request_job(client: FlaskClient, body: Any = None) -> str:
    response = client.post(ICAL, json=body) if body is not None else client.post(ICAL)
    assert response.status_code == 202, response.json
    return str(response.json["task_id"])


def status(client: FlaskClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"{ICAL}/{job_id}/status")
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


def consume(export: CalendarExport, event_type: str, version: int = 1, **data: Any) -> None:
    handlers(export)[event_type](decode(json.dumps(sample(event_type, version, **data))))


@pytest.fixture
def export(application: TodoApplication) -> CalendarExport:
    return CalendarExport(application.engine)


def test_a_request_is_accepted_with_an_absolute_task_url(client: FlaskClient) -> None:
    response = client.post(ICAL)
    assert response.status_code == 202
    body = response.json
    uuid.UUID(body["task_id"])
    assert body["task_url"] == f"http://localhost{ICAL}/{body['task_id']}/status"


def test_a_request_is_one_calendar_requested_event_as_of_the_sequence_before_it(
    client: FlaskClient,
) -> None:
    client.post("/api/v1/todos", json={"title": "a"})
    client.post("/api/v1/todos", json={"title": "b"})
    job_id = request_job(
        client, {"include_completed": False, "callback_url": "https://hooks.example.com/x"}
    )
    last = client.get("/api/v1/events").json["events"][-1]
    assert last["event_type"] == "CalendarRequested"
    assert last["sequence"] == 3
    assert last["correlation_id"] == job_id
    assert last["data"] == {
        "job_id": job_id,
        "as_of": 2,
        "options": {"include_completed": False},
        "notify": "https://hooks.example.com/x",
        # Which of the owner's webhook secrets sign: AUTH_MODE=none's owner is at version 1.
        "signing": {"secret_version": 1, "previous_valid_until": None},
    }


@pytest.mark.parametrize(
    "body",
    [
        {"colour": "red"},
        {"include_completed": "yes"},
        {"callback_url": "ftp://example.com/x"},
        {"callback_url": "not a url"},
        {"callback_url": 5},
        [1, 2],
    ],
)
def test_bad_request_bodies_are_400_and_record_nothing(client: FlaskClient, body: Any) -> None:
    response = client.post(ICAL, json=body)
    assert response.status_code == 400
    assert response.json["error"]
    assert client.get("/api/v1/events").json["events"] == []


def test_a_new_job_is_pending_with_a_timeline(client: FlaskClient) -> None:
    job_id = request_job(client)
    body = status(client, job_id)
    assert body["task_status"] == "PENDING"
    assert body["result_url"].endswith(f"{ICAL}/{job_id}/result")
    assert [step["status"] for step in body["timeline"]] == ["PENDING"]
    assert body["error"] is None


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_unknown_jobs_are_404_json(client: FlaskClient, job_id: str) -> None:
    for suffix in ("status", "result"):
        response = client.get(f"{ICAL}/{job_id}/{suffix}")
        assert response.status_code == 404
        assert "error" in response.json


def test_the_result_is_404_until_the_job_succeeds(client: FlaskClient) -> None:
    job_id = request_job(client)
    response = client.get(f"{ICAL}/{job_id}/result")
    assert response.status_code == 404
    assert "PENDING" in response.json["error"]


def test_progress_events_move_the_job_forward_once(
    client: FlaskClient, export: CalendarExport
) -> None:
    job_id = request_job(client)
    consume(export, "CalendarGenerationStarted", job_id=job_id)
    assert status(client, job_id)["task_status"] == "STARTED"
    generated = decode(json.dumps(sample("CalendarGenerated", job_id=job_id)))
    handlers(export)["CalendarGenerated"](generated)
    handlers(export)["CalendarGenerated"](generated)  # a duplicate delivery
    body = status(client, job_id)
    assert body["task_status"] == "SUCCESS"
    assert [s["status"] for s in body["timeline"]] == ["PENDING", "STARTED", "SUCCESS"]
    assert body["notified"] is None
    assert body["notification"] is None, "no callback was asked for"


def test_the_status_follows_the_calendar_and_the_webhook_is_reported_apart(
    client: FlaskClient, export: CalendarExport
) -> None:
    job_id = request_job(client, {"callback_url": "https://hooks.example.com/calendar"})
    consume(export, "CalendarGenerated", job_id=job_id)
    body = status(client, job_id)
    assert body["task_status"] == "SUCCESS", "no CalendarReady needed to finish the job"
    assert body["notification"] == {
        "state": "pending",
        "attempts": None,
        "status_code": None,
        "error": None,
    }
    assert body["notified"] is None
    consume(
        export,
        "CalendarReady",
        version=2,
        job_id=job_id,
        notification={
            "url": "https://hooks.example.com/calendar",
            "delivered": False,
            "attempts": 6,
            "status_code": 503,
            "delivery_id": "d",
            "error": "503 Service Unavailable",
        },
    )
    body = status(client, job_id)
    assert body["task_status"] == "SUCCESS", "a failed webhook does not fail the calendar"
    assert body["notified"] is False
    assert body["notification"] == {
        "state": "failed",
        "attempts": 6,
        "status_code": 503,
        "error": "503 Service Unavailable",
    }


def test_an_old_notifiers_calendar_ready_reports_the_webhook_and_moves_nothing_back(
    client: FlaskClient, export: CalendarExport
) -> None:
    job_id = request_job(client, {"callback_url": "https://hooks.example.com/calendar"})
    consume(export, "CalendarGenerationFailed", job_id=job_id)
    consume(export, "CalendarReady", job_id=job_id, outcome="success")  # v1, upcast
    body = status(client, job_id)
    assert body["task_status"] == "FAILURE", "the status came from the calendar, not from v1"
    assert body["notified"] is True
    assert body["notification"]["state"] == "delivered"


def test_an_old_notifiers_calendar_ready_finishes_a_job_nothing_else_finished(
    client: FlaskClient, export: CalendarExport
) -> None:
    # Its CalendarGenerated went out before todo-api subscribed to it (the deploy's first
    # minutes): the v1 CalendarReady, upcast, still finishes it.
    job_id = request_job(client)
    consume(export, "CalendarReady", job_id=job_id, notification=None, outcome="success")
    body = status(client, job_id)
    assert body["task_status"] == "SUCCESS"
    assert body["notification"] is None


def test_a_v2_calendar_ready_never_finishes_a_job(
    client: FlaskClient, export: CalendarExport
) -> None:
    job_id = request_job(client, {"callback_url": "https://hooks.example.com/calendar"})
    consume(export, "CalendarReady", version=2, job_id=job_id)
    assert status(client, job_id)["task_status"] == "PENDING"


def test_a_late_started_event_cannot_move_a_finished_job_back(
    client: FlaskClient, export: CalendarExport
) -> None:
    job_id = request_job(client)
    consume(export, "CalendarGenerated", job_id=job_id)
    consume(export, "CalendarGenerationStarted", job_id=job_id)
    assert status(client, job_id)["task_status"] == "SUCCESS"


def test_a_failure_shows_its_error(client: FlaskClient, export: CalendarExport) -> None:
    job_id = request_job(client)
    consume(
        export,
        "CalendarGenerationFailed",
        job_id=job_id,
        error={"code": "storage_unavailable", "message": "S3 said no"},
    )
    body = status(client, job_id)
    assert body["task_status"] == "FAILURE"
    assert body["error"] == {"code": "storage_unavailable", "message": "S3 said no"}
    assert client.get(f"{ICAL}/{job_id}/result").status_code == 404


def test_the_result_streams_the_calendar_from_s3(
    settings: Settings, application: TodoApplication, export: CalendarExport, aws: AwsWorld
) -> None:
    client = create_app(replace(settings, aws=aws.settings), application=application).test_client()
    job_id = request_job(client)
    key = f"calendars/default/{job_id}.ics"
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    aws.settings.client("s3").put_object(Bucket=aws.topology.bucket, Key=key, Body=calendar)
    consume(export, "CalendarGenerated", job_id=job_id, bucket=aws.topology.bucket, key=key)
    response = client.get(f"{ICAL}/{job_id}/result")
    assert response.status_code == 200
    assert response.data == calendar
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    etag = response.headers["ETag"]
    again = client.get(f"{ICAL}/{job_id}/result", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_live_feed_is_served_from_s3_with_validators(
    settings: Settings, application: TodoApplication, aws: AwsWorld
) -> None:
    from taskoverflow_events.calendar_keys import feed_key

    client = create_app(replace(settings, aws=aws.settings), application=application).test_client()
    empty = client.get("/api/v1/calendar.ics")
    assert empty.status_code == 200, "before the worker writes one, the feed is an empty calendar"
    assert empty.data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"BEGIN:VEVENT" not in empty.data
    feed = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    aws.settings.client("s3").put_object(
        Bucket=aws.topology.bucket, Key=feed_key("default"), Body=feed
    )
    response = client.get("/api/v1/calendar.ics")
    assert response.status_code == 200
    assert response.data == feed
    assert response.mimetype == "text/calendar"
    assert response.headers["Last-Modified"].endswith("GMT")
    etag = response.headers["ETag"]
    cached = client.get("/api/v1/calendar.ics", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.data == b""


def test_a_run_of_job_events_applies_each_once_in_one_transaction(
    client: FlaskClient, export: CalendarExport
) -> None:
    job_ids = [request_job(client) for _ in range(3)]
    started = [decode(json.dumps(sample("CalendarGenerationStarted", job_id=j))) for j in job_ids]
    generated = [
        decode(json.dumps(sample("CalendarGenerated", job_id=j, bucket="b", key="k")))
        for j in job_ids
    ]
    run = batch_handlers(export)
    run["CalendarGenerationStarted"](started)
    run["CalendarGenerated"](generated[:2])
    assert [status(client, j)["task_status"] for j in job_ids] == ["SUCCESS", "SUCCESS", "STARTED"]
    run["CalendarGenerated"](generated)  # two already handled, one new
    run["CalendarGenerationStarted"](started)  # all handled: nothing moves back
    assert [status(client, j)["task_status"] for j in job_ids] == ["SUCCESS"] * 3
    with export.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM handled_events")).scalar_one() == 6
