"""Every calendar job ends, with a reason: one whose rendering fails on every attempt, and one
that no worker ever picks up. Neither leaves its owner polling forever."""

from __future__ import annotations

from sqlalchemy import text

from taskoverflow_events.persistence import make_engine
from tests.system import Systems, scalar, wait_until

WORKER_QUEUE = "ical-worker-calendar-requests.fifo"  # where renders happen


def test_a_job_whose_rendering_fails_on_every_attempt_ends_as_a_failure(
    systems: Systems,
) -> None:
    # Short visibility, so the worker's attempts (four) come round in seconds, not minutes.
    system = systems.start(env={"AUTH_MODE": "token"}, visibility={WORKER_QUEUE: 2})
    alice = system.add_owner("alice")
    alice.create_todo("Dentist", deadline_at="2026-12-03T09:00:00")
    wait_until(
        lambda: scalar(system.databases["ical-worker"], "SELECT count(*) FROM todo_versions"),
        timeout=30,
        what="the worker applies alice's todo",
        system=system,
    )
    engine = make_engine(system.databases["ical-worker"])
    with engine.begin() as conn:  # a bug, not an outage: every render now fails
        conn.execute(text("ALTER TABLE rendered_jobs RENAME TO rendered_jobs_elsewhere"))
    engine.dispose()
    job = alice.request_calendar()
    done = alice.wait_for_job(job["task_url"], timeout=60)
    assert done["task_status"] == "FAILURE", system.logs()
    assert done["error"]["code"] == "internal_error"
    assert "rendered_jobs" in done["error"]["message"]
    assert "giving up on the calendar" in system.logs_in_full()


def test_a_job_no_worker_picks_up_fails_at_its_deadline(systems: Systems) -> None:
    system = systems.start(
        processes=[
            ("todo_api.web", "todo-api-web"),
            ("todo_api.relay", "todo-api-relay"),
            ("todo_api.consumer", "todo-api-consumer"),
        ],
        env={"AUTH_MODE": "token", "JOB_DEADLINE_SECONDS": "3"},
    )
    bob = system.add_owner("bob")
    job = bob.request_calendar()
    done = bob.wait_for_job(job["task_url"], timeout=30)
    assert done["task_status"] == "FAILURE"
    assert done["error"]["code"] == "deadline_exceeded"
    assert done["timeline"][-1]["elapsed_ms"] >= 3000
