"""A job's status follows its calendar, and the webhook's fate is reported beside it: a
notifier of the previous release (CalendarReady v1) must still be understood, not trusted."""

from flask.testing import FlaskClient

from todo_api.calendar_export import CalendarExport

from .conftest import consume, request_job, status


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
