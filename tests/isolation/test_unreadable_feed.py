"""A calendar request that overtakes its owner's changes, and cannot read them from todo-api's
event feed, waits for them to arrive through the worker's own queue; it is not left for
redelivery, which on the FIFO queue holds the owner's calendars for a whole visibility timeout.

This is what `make bench` met: its system gave the worker no service token, so every feed read
was refused, and each calendar that overtook its owner's changes took the queue's visibility
timeout (60 s) instead of milliseconds. Here the worker also runs without TODO_API_TOKEN (todo-api
answers 401), and the visibility timeout is longer than the test waits, so a calendar that is
done in time was done on its first receive.
"""

from __future__ import annotations

import json

from taskoverflow_events.persistence import make_engine
from tests.e2e.api_client import JobTimedOut
from tests.isolation.test_backlogs import WITHOUT_WORKER, WORKER_QUEUE, calendar_titles, queued
from tests.isolation.test_backlogs import write as write_todos
from tests.system import System, Systems, scalar, wait_until

BEFORE = 200
VISIBILITY = 120  # longer than WAIT: a redelivered request cannot finish within it
WAIT = 45


def worker_lines(system: System, job_id: str) -> list[dict[str, object]]:
    lines = []
    for raw in system.processes["ical-worker"].log().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("job_id") == job_id:
            lines.append(line)
    return lines


def test_a_request_that_cannot_read_the_feed_is_not_held_for_a_visibility_timeout(
    systems: Systems,
) -> None:
    system = systems.start(
        processes=WITHOUT_WORKER,
        env={"AUTH_MODE": "token", "TODO_API_TOKEN": ""},  # the worker may not read feeds
        visibility={WORKER_QUEUE: VISIBILITY},
    )
    alice = system.add_owner("alice")
    engine = make_engine(system.databases["todo-api"])
    before = write_todos(engine, "alice", BEFORE, "before")
    engine.dispose()
    job = alice.request_calendar()
    job_id = str(job["task_id"])
    wait_until(
        lambda: (
            scalar(
                system.databases["todo-api"],
                "SELECT count(*) FROM events WHERE published_at IS NULL",
            )
            == 0
        ),
        timeout=120,
        what="the relay publishes alice's changes and her request",
        system=system,
    )
    assert queued(system) >= BEFORE  # all on the queue: the request will overtake them
    system.processes["ical-worker"] = system.process("ical_worker.worker", "ical-worker").start()

    try:
        done = alice.wait_for_job(job["task_url"], timeout=WAIT)
    except JobTimedOut:
        held = [
            line["error"]
            for line in worker_lines(system, job_id)
            if line["message"] == "handler failed; message left for redelivery"
        ]
        raise AssertionError(
            f"alice's calendar was not done in {WAIT}s; the worker left her request for "
            f"redelivery ({VISIBILITY}s away) after: {held}"
        ) from None

    assert done["task_status"] == "SUCCESS", system.logs()
    assert calendar_titles(alice, done) == before, "exactly what alice wrote before asking"
    lines = worker_lines(system, job_id)
    refused = [line for line in lines if "refused" in str(line.get("error", ""))]
    assert refused, "the request never read the feed: this test did not exercise the refusal"
    assert not [line for line in lines if line["level"] == "error"], lines
