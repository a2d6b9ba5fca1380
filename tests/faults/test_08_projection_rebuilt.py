"""Fault 8: the worker's projection is deleted and rebuilt from the event feed while the owner
keeps writing."""

from __future__ import annotations

import subprocess
import sys
import threading

from ical_worker.feed import FeedClient
from ical_worker.projection import Projection
from ical_worker.render import assemble
from sqlalchemy import text

from taskoverflow_events.persistence import make_engine
from tests.faults.conftest import StartSystem, wait_for_projection


def test_after_a_rebuild_during_writes_the_calendar_equals_one_made_from_scratch(
    start: StartSystem,
) -> None:
    system = start()
    for n in range(30):
        system.api.create_todo(f"old {n}", deadline_at=f"2027-09-{n % 28 + 1:02d}T09:00:00")
    wait_for_projection(system, 30)
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        n = 0
        while not stop.is_set() and n < 200:
            todo = system.api.create_todo(f"during {n}", deadline_at="2027-10-01T09:00:00")
            if n % 3 == 0:
                system.api.update_todo(todo["id"], completed=True, title=f"done {n}")
            written.append(todo["id"])
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        engine = make_engine(system.databases["ical-worker"])
        with engine.begin() as conn:  # the projection is lost
            conn.execute(text("DELETE FROM todo_versions"))
            conn.execute(text("DELETE FROM projection_owners"))
        engine.dispose()
        rebuilt = subprocess.run(
            [sys.executable, "-m", "ical_worker.rebuild", "--owner", "default"],
            env=system.env | {"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr
    finally:
        stop.set()
        writer.join(60)
    assert len(written) >= 5, "writes went on during the rebuild"
    job = system.api.request_calendar()
    done = system.api.wait_for_job(job["task_url"], timeout=60)
    assert done["task_status"] == "SUCCESS", system.logs()
    got = system.api.result(done["result_url"]).content

    # From scratch: fold the owner's whole event feed up to the job's point, render, assemble.
    as_of = next(
        e
        for e in system.api.session.get(
            f"{system.api.base_url}/api/v1/events?limit=1000&after=0", timeout=10
        ).json()["events"]
        if e["event_type"] == "CalendarRequested" and e["data"]["job_id"] == job["task_id"]
    )["data"]["as_of"]
    feed = FeedClient(system.api.base_url, token=system.env["SERVICE_TOKEN"])
    bodies = Projection(feed).folded_from_feed("default", as_of, include_completed=True)
    expected = b"".join(assemble(bodies))
    assert got == expected
    print(f"rebuilt while {len(written)} todos were written; {rebuilt.stdout.strip()}")
