"""Fault 5: PostgreSQL restarts under the running system."""

from __future__ import annotations

import threading
import time

import requests

from tests.faults.conftest import StartSystem, restart_postgresql, scalar, summaries, wait_until
from tests.system import System


def create_retrying(system: System, title: str) -> tuple[dict, int]:
    """What a user does while the database is away: try again. Returns the todo and the tries."""
    deadline = time.monotonic() + 60
    tries = 0
    while True:
        tries += 1
        try:
            response = system.api.session.post(
                f"{system.api.base_url}/api/v1/todos",
                json={"title": title, "deadline_at": "2027-06-01T09:00:00"},
                timeout=10,
            )
        except requests.ConnectionError:
            response = None
        if response is not None and response.status_code == 201:
            return response.json(), tries
        assert response is None or response.status_code == 503, response.text
        assert time.monotonic() < deadline, system.logs()
        time.sleep(0.2)


def test_every_process_recovers_by_itself_and_nothing_is_lost(start: StartSystem) -> None:
    system = start()
    titles = [create_retrying(system, f"before {n}")[0]["title"] for n in range(10)]
    first = system.api.wait_for_job(system.api.request_calendar()["task_url"], timeout=60)
    assert first["task_status"] == "SUCCESS", system.logs()

    # A user keeps writing while the database goes down and comes back, then five more times.
    tries: list[int] = []
    restarted = threading.Event()

    def keep_writing() -> None:
        after = 0
        while after < 5 and len(tries) < 500:
            after += restarted.is_set()
            todo, attempts = create_retrying(system, f"around the restart {len(tries)}")
            titles.append(todo["title"])
            tries.append(attempts)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    took = restart_postgresql()
    restarted.set()
    writer.join(90)
    assert not writer.is_alive()
    job = system.api.request_calendar()
    done = system.api.wait_for_job(job["task_url"], timeout=90)

    assert done["task_status"] == "SUCCESS", system.logs()
    assert summaries(system.api.result(done["result_url"]).content) == sorted(titles)
    dead = [name for name, p in system.processes.items() if not p.alive()]
    assert not dead, f"{dead} died of it:\n" + "\n".join(
        system.processes[name].log()[-6000:] for name in dead
    )
    todo_db = system.databases["todo-api"]
    wait_until(
        lambda: scalar(todo_db, "SELECT count(*) FROM events WHERE published_at IS NULL") == 0,
        timeout=30,
        what="the outbox drains",
        system=system,
    )
    sequences = scalar(
        todo_db, "SELECT string_agg(sequence::text, ',' ORDER BY sequence) FROM events"
    )
    stream = len(titles) + 2  # the todos and the two calendar requests
    assert sequences == ",".join(str(n) for n in range(1, stream + 1)), "a gapless stream"
    retried = sum(1 for t in tries if t > 1)
    print(
        f"PostgreSQL restart took {took:.1f}s; {len(tries)} writes around it, {retried} of them"
        f" answered 503 or refused at first and retried, {max(tries)} tries at most"
    )
