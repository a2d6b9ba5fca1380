"""PostgreSQL notifications: the relay wakes on a committed append, and a status long-poll is
answered when the consumer records the job's outcome rather than when its wait runs out."""

import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.domain.commands import CreateTodo
from todo_api.store.notifications import (
    CALENDAR_JOBS_CHANNEL,
    OUTBOX_CHANNEL,
    ChannelListener,
    JobWatch,
)

from .conftest import ICAL, consume, request_job


def finish(application: TodoApplication, job_id: str) -> None:
    """What todo-api's consumer does with the job's CalendarGenerated."""
    consume(
        CalendarExport(application.engine), "CalendarGenerated", job_id=job_id, bucket="b", key="k"
    )


def listening(engine: Engine, channel: str) -> ChannelListener:
    listener = ChannelListener(engine, channel)
    assert listener.wait(5).resync, "the first wait connects and asks for a re-read"
    return listener


def test_the_relay_hears_a_committed_append_and_not_a_rolled_back_one(
    application: TodoApplication,
) -> None:
    listener = listening(application.engine, OUTBOX_CHANNEL)
    try:
        with application.engine.connect() as conn:
            conn.execute(
                text(
                    "INSERT INTO events (event_id, owner, sequence, event_type, schema_version,"
                    " occurred_at, body) VALUES ('x', 'o', 1, 'TodoChanged', 1, now(), '{}')"
                )
            )
            conn.rollback()
        assert listener.wait(0.5).payloads == ()

        application.create("default", CreateTodo(title="wake the relay"))
        heard = listener.wait(5)
        assert heard.payloads == ("",)
        assert not heard.resync
    finally:
        listener.close()


def test_a_job_notifies_its_id_when_it_finishes_and_only_then(
    application: TodoApplication,
) -> None:
    export = CalendarExport(application.engine)
    job_id = export.request("default")
    listener = listening(application.engine, CALENDAR_JOBS_CHANNEL)
    try:
        consume(export, "CalendarGenerationStarted", job_id=job_id)
        assert listener.wait(0.5).payloads == (), "no long-poll answers STARTED: no notification"
        finish(application, job_id)
        assert listener.wait(5).payloads == (job_id,)
        finish(application, job_id)  # a repeat changes nothing: no notification
        assert listener.wait(0.5).payloads == ()
    finally:
        listener.close()


@pytest.fixture
def slow_recheck_app(settings: Settings, application: TodoApplication) -> Flask:
    """An app whose waiting requests re-read their job only every 30 s unless notified."""
    app = create_app(settings, application=application)
    app.extensions["job_watch"] = JobWatch(application.engine, recheck_seconds=30)
    return app


def test_a_long_poll_is_answered_when_the_job_finishes(
    slow_recheck_app: Flask, application: TodoApplication
) -> None:
    client = slow_recheck_app.test_client()
    job_id = request_job(client)
    answer: dict[str, Any] = {}

    def long_poll() -> None:
        started = time.monotonic()
        response = slow_recheck_app.test_client().get(f"{ICAL}/{job_id}/status?wait=20")
        answer.update(status=response.status_code, body=response.json)
        answer["seconds"] = time.monotonic() - started

    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.5)  # the request is waiting
    assert poller.is_alive(), answer
    finish(application, job_id)
    poller.join(25)
    assert answer["status"] == 200
    assert answer["body"]["task_status"] == "SUCCESS"
    # Re-reads are 30 s apart and the wait is 20 s: only the notification can answer this soon.
    assert answer["seconds"] < 10, answer


def test_a_long_poll_on_an_unfinished_job_answers_its_status_when_the_wait_ends(
    slow_recheck_app: Flask,
) -> None:
    client = slow_recheck_app.test_client()
    job_id = request_job(client)
    started = time.monotonic()
    response = client.get(f"{ICAL}/{job_id}/status?wait=0.3")
    assert response.status_code == 200
    assert response.json["task_status"] == "PENDING"
    assert time.monotonic() - started >= 0.3


def test_a_long_poll_on_a_finished_job_answers_at_once(
    slow_recheck_app: Flask, application: TodoApplication
) -> None:
    client = slow_recheck_app.test_client()
    job_id = request_job(client)
    finish(application, job_id)
    started = time.monotonic()
    assert client.get(f"{ICAL}/{job_id}/status?wait=20").json["task_status"] == "SUCCESS"
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("wait", ["soon", "-1", "21", "nan", "inf", ""])
def test_a_bad_wait_is_refused(slow_recheck_app: Flask, wait: str) -> None:
    client = slow_recheck_app.test_client()
    job_id = request_job(client)
    response = client.get(f"{ICAL}/{job_id}/status?wait={wait}")
    assert response.status_code == 400, response.json
    assert "wait" in response.json["error"]


def test_a_long_poll_on_someone_elses_job_is_not_found(slow_recheck_app: Flask) -> None:
    response = slow_recheck_app.test_client().get(
        f"{ICAL}/00000000-0000-4000-8000-000000000000/status?wait=5"
    )
    assert response.status_code == 404


def test_the_listener_thread_stops_without_waiters_and_starts_again_for_the_next(
    application: TodoApplication,
) -> None:
    watch = JobWatch(application.engine, recheck_seconds=0.1)
    watch.IDLE_SECONDS = 0.3
    export = CalendarExport(application.engine)
    for job_id in (export.request("default"), export.request("default")):
        with watch.watching(job_id) as changed:
            assert changed.wait(5), "the first wait after connecting asks for a re-read"
            changed.clear()
            finish(application, job_id)
            assert changed.wait(5), "the job finished and woke the waiter"
        deadline = time.monotonic() + 10
        while watch._thread is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watch._thread is None, "no waiter for IDLE_SECONDS: the thread has gone"
