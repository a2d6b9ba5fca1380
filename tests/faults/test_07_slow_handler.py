"""Fault 7: a calendar job takes longer than the queue's visibility timeout."""

from __future__ import annotations

import time

from tests.faults.conftest import (
    StartSystem,
    blocked_on,
    locked,
    scalar,
    wait_for_block,
    wait_for_projection,
)

WORKER_QUEUE = "ical-worker-calendar-requests.fifo"  # where renders happen
VISIBILITY = 3
HELD_FOR = 4 * VISIBILITY


def test_the_heartbeat_keeps_a_slow_job_from_a_second_worker(start: StartSystem) -> None:
    system = start(visibility={WORKER_QUEUE: VISIBILITY})  # both workers on the queue
    worker_db = system.databases["ical-worker"]
    system.api.create_todo("slow to render", deadline_at="2027-08-01T09:00:00")
    wait_for_projection(system, 1)
    most_waiting = 0
    with locked(worker_db, "LOCK TABLE rendered_jobs IN SHARE MODE"):
        job = system.api.request_calendar()
        wait_for_block(system, "rendered_jobs", "a worker is rendering")
        until = time.monotonic() + HELD_FOR
        while time.monotonic() < until:
            # A second worker with the same job would wait on the owner's projection lock.
            most_waiting = max(most_waiting, len(blocked_on(worker_db, "")))
            time.sleep(0.25)
    done = system.api.wait_for_job(job["task_url"], timeout=60)

    assert done["task_status"] == "SUCCESS", system.logs()
    assert most_waiting == 1, "only one worker ever worked on the job"
    logs = system.processes["ical-worker-1"].log() + system.processes["ical-worker-2"].log()
    assert logs.count('"calendar rendered"') == 1
    assert logs.count('"visibility extended"') >= HELD_FOR // VISIBILITY
    assert scalar(worker_db, "SELECT count(*) FROM rendered_jobs") == 1
