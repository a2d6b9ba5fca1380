"""Every job ends, and bookkeeping does not grow forever: the consumer process's periodic work,
on PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text, update

from taskoverflow_events.persistence import claim_event
from todo_api.consumer.housekeeping import fail_overdue_jobs, purge_bookkeeping
from todo_api.store import jobs
from todo_api.store.tables import calendar_jobs, handled_events

ICAL = "/api/v1/todos/ical"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def age(engine: Engine, job_id: str, by: timedelta) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(calendar_jobs)
            .where(calendar_jobs.c.job_id == job_id)
            .values(requested_at=calendar_jobs.c.requested_at - by)
        )


def request_job(client: FlaskClient) -> str:
    return str(client.post(ICAL).json["task_id"])


def test_a_job_past_its_deadline_ends_as_a_failure_with_the_reason(
    client: FlaskClient, pg_engine: Engine
) -> None:
    overdue, fresh, finished = request_job(client), request_job(client), request_job(client)
    with pg_engine.begin() as conn:
        jobs.record_outcome(conn, finished, now(), status=jobs.SUCCESS, bucket="b", key="k")
    for job_id in (overdue, finished):
        age(pg_engine, job_id, timedelta(minutes=11))
    assert fail_overdue_jobs(pg_engine, deadline_seconds=600) == [overdue]
    body = client.get(f"{ICAL}/{overdue}/status").json
    assert body["task_status"] == "FAILURE"
    assert body["error"]["code"] == "deadline_exceeded"
    assert client.get(f"{ICAL}/{fresh}/status").json["task_status"] == "PENDING"
    assert client.get(f"{ICAL}/{finished}/status").json["task_status"] == "SUCCESS"
    assert fail_overdue_jobs(pg_engine, deadline_seconds=600) == [], "once is enough"


def test_a_calendar_that_arrives_after_the_deadline_does_not_revive_the_job(
    client: FlaskClient, pg_engine: Engine
) -> None:
    job_id = request_job(client)
    age(pg_engine, job_id, timedelta(hours=1))
    fail_overdue_jobs(pg_engine, deadline_seconds=600)
    with pg_engine.begin() as conn:
        jobs.record_outcome(conn, job_id, now(), status=jobs.SUCCESS, bucket="b", key="k")
    assert client.get(f"{ICAL}/{job_id}/status").json["task_status"] == "FAILURE"


def test_old_handled_ids_and_old_finished_jobs_go_and_the_rest_stays(
    client: FlaskClient, pg_engine: Engine
) -> None:
    old_id, new_id = uuid.uuid4(), uuid.uuid4()
    with pg_engine.begin() as conn:
        claim_event(conn, handled_events, old_id)
        claim_event(conn, handled_events, new_id)
        conn.execute(
            update(handled_events)
            .where(handled_events.c.event_id == str(old_id))
            .values(handled_at=now() - timedelta(days=31))
        )
    old_done, old_open, new_done = request_job(client), request_job(client), request_job(client)
    with pg_engine.begin() as conn:
        for job_id in (old_done, new_done):
            jobs.record_outcome(conn, job_id, now(), status=jobs.SUCCESS, bucket="b", key="k")
    for job_id in (old_done, old_open):
        age(pg_engine, job_id, timedelta(days=31))
    assert purge_bookkeeping(pg_engine, retention_days=30) == 2
    with pg_engine.connect() as conn:
        ids = set(conn.execute(select(handled_events.c.event_id)).scalars())
        kept = set(conn.execute(select(calendar_jobs.c.job_id)).scalars())
        assert conn.execute(select(func.count()).select_from(text("events"))).scalar_one() == 3
    assert ids == {str(new_id)}
    assert kept == {old_open, new_done}, "an unfinished job waits for its deadline, not retention"
