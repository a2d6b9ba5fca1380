"""Fault 1: the only ical-worker is killed with SIGKILL in the middle of a calendar job."""

from __future__ import annotations

from tests.faults.conftest import (
    StartSystem,
    locked,
    objects,
    scalar,
    summaries,
    wait_for_block,
    wait_for_projection,
    wait_until,
)
from tests.system import PROCESSES

WORKER_QUEUE = "ical-worker-calendar-requests.fifo"  # where renders happen
ONE_WORKER = [p for p in PROCESSES if p[1] != "ical-worker-2"]


def test_a_job_whose_worker_is_killed_mid_render_still_succeeds_with_one_calendar(
    start: StartSystem,
) -> None:
    system = start(processes=ONE_WORKER, visibility={WORKER_QUEUE: 6})
    worker_db = system.databases["ical-worker"]
    titles = [
        system.api.create_todo(f"todo {n}", deadline_at=f"2027-02-{n + 1:02d}T09:00:00")["title"]
        for n in range(20)
    ]
    wait_for_projection(system, 20)
    # The worker writes the calendar to S3 and then records the job in rendered_jobs. With that
    # table locked it stops between the two: the file exists, the job is not done. Kill it there.
    with locked(worker_db, "LOCK TABLE rendered_jobs IN SHARE MODE"):
        job = system.api.request_calendar()
        wait_for_block(system, "rendered_jobs", "the worker reaches the end of its render")
        [key] = objects(system, "calendars/")
        assert key.endswith(f"/{job['task_id']}.ics")
        # A render this slow announces itself (quick ones send Started with their outcome).
        wait_until(
            lambda: system.api.status(job["task_url"])["task_status"] == "STARTED",
            timeout=15,
            what="the held render is announced as STARTED",
            system=system,
        )
        system.processes["ical-worker-1"].kill()
    assert system.api.status(job["task_url"])["task_status"] == "STARTED"

    system.processes["ical-worker-1"] = system.process(
        "ical_worker.worker", "ical-worker-1"
    ).start()
    done = system.api.wait_for_job(job["task_url"], timeout=60)

    assert done["task_status"] == "SUCCESS", system.logs()
    assert [s["status"] for s in done["timeline"]] == ["PENDING", "STARTED", "SUCCESS"]
    assert objects(system, "calendars/") == [key], "exactly one calendar object for the job"
    assert summaries(system.api.result(done["result_url"]).content) == sorted(titles)
    assert scalar(worker_db, "SELECT count(*) FROM rendered_jobs") == 1
    # Private: the object grants nobody but its owner; only the API serves it.
    s3 = system.aws.settings.client("s3")
    grants = s3.get_object_acl(Bucket=system.aws.topology.bucket, Key=key)["Grants"]
    assert [g["Grantee"].get("URI") for g in grants] == [None] * len(grants)
    # The second worker process finished the job the killed one had started.
    assert '"calendar rendered"' in system.processes["ical-worker-1"].log()
