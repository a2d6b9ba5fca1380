"""The calendar-export contract on todo-api's side as a client first meets it: a request is
accepted or refused before anything is recorded, and its job can be asked about at once."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import ICAL, request_job, status


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
    before = datetime.now(UTC)
    job_id = request_job(
        client, {"include_completed": False, "callback_url": "https://hooks.example.com/x"}
    )
    after = datetime.now(UTC)
    last = client.get("/api/v1/events").json["events"][-1]
    assert last["event_type"] == "CalendarRequested"
    assert last["sequence"] == 3
    assert last["correlation_id"] == job_id
    # When the job fails if unfinished: JOB_DEADLINE_SECONDS (600 by default) after it was asked.
    deadline_at = datetime.fromisoformat(last["data"].pop("deadline_at"))
    assert before + timedelta(seconds=600) <= deadline_at
    assert deadline_at <= after + timedelta(seconds=600)
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
