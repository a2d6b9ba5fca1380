"""Fault 6: SIGTERM reaches a worker in the middle of a batch."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

from tests.faults.conftest import (
    StartSystem,
    locked,
    summaries,
    wait_for_block,
    wait_for_projection,
)
from tests.system import PROCESSES

ONE_WORKER = [p for p in PROCESSES if p[1] != "ical-worker-2"]
STOP_TIMEOUT = 15  # what docker-compose and ECS give a task before SIGKILL (stop_grace_period)


def applied_per_event(log: str) -> Counter[str]:
    """How often each event was applied, from the worker's DEBUG lines: one per event when
    handled alone, one listing the applied event ids when a run was handled together."""
    counts: Counter[str] = Counter()
    for line in (json.loads(raw) for raw in log.splitlines() if raw.startswith("{")):
        if line.get("message") == "todo change" and line.get("outcome") == "applied":
            counts[line["event_id"]] += 1
        elif line.get("message") == "todo changes":
            counts.update(line["applied"])
    return counts


def test_a_worker_stopped_mid_batch_finishes_it_exits_in_time_and_loses_nothing(
    start: StartSystem,
) -> None:
    system = start(processes=ONE_WORKER, env={"LOG_LEVEL": "DEBUG"})
    worker_db = system.databases["ical-worker"]
    titles = [
        system.api.create_todo(f"early {n}", deadline_at="2027-07-01T09:00:00")["title"]
        for n in range(3)
    ]
    wait_for_projection(system, 3)
    worker = system.processes["ical-worker-1"]
    # Hold the projection's rows so the worker's next batch stops half way through.
    with locked(worker_db, "LOCK TABLE todo_versions IN SHARE MODE"):
        titles += [
            system.api.create_todo(f"in the batch {n}", deadline_at="2027-07-02T09:00:00")["title"]
            for n in range(10)
        ]
        wait_for_block(system, "todo_versions", "the worker is inside a batch")
        os.kill(worker.pid, signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(1.0)
        assert worker.alive(), "it finishes the batch in hand rather than dying mid-way"
    code = worker.stop(timeout=STOP_TIMEOUT)
    exited_after = time.monotonic() - signalled
    assert code == 0, worker.log()[-3000:]
    assert exited_after < STOP_TIMEOUT
    first_life = worker.log()
    assert '"stop requested"' in first_life
    assert '"consumer stopped"' in first_life

    system.processes["ical-worker-1"] = system.process(
        "ical_worker.worker", "ical-worker-1"
    ).start()
    titles += [
        system.api.create_todo("after the restart", deadline_at="2027-07-03T09:00:00")["title"]
    ]
    done = system.api.wait_for_job(system.api.request_calendar()["task_url"], timeout=60)
    assert done["task_status"] == "SUCCESS", system.logs()
    assert summaries(system.api.result(done["result_url"]).content) == sorted(titles)
    applied = applied_per_event(system.processes["ical-worker-1"].log())
    assert len(applied) == 14, "every todo change applied"
    assert set(applied.values()) == {1}, f"none applied twice: {applied.most_common(3)}"
    print(f"the worker exited {exited_after:.1f}s after SIGTERM, batch finished")
