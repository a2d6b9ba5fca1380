"""The consumer's job updates on todo-api's side: redelivered and late events are normal on
SQS, so each update must be idempotent and only ever move a job forward."""

import json

from flask.testing import FlaskClient
from sqlalchemy import text

from taskoverflow_events import decode
from taskoverflow_testing.contracts import sample
from todo_api.calendar_export import CalendarExport
from todo_api.consumer.handlers import batch_handlers, handlers

from .conftest import ICAL, consume, request_job, status


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
