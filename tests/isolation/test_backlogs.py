"""No head-of-line blocking: one owner's backlog of changes delays neither another owner's
calendar nor its own (DESIGN.md, "Many owners"; ADR 8).

Alice's backlog is made real the way an SNS outage makes it: her changes, her calendar request
and more changes are all published while no worker runs, so the worker meets the whole backlog
at once. What is checked is the cause: the calendars are SUCCESS while alice's changes are still
on the queue, not merely quickly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from tests.e2e.api_client import TodoApiClient
from tests.system import System, Systems, scalar, wait_until
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo

WITHOUT_WORKER = [
    ("todo_api.web", "todo-api-web"),
    ("todo_api.relay", "todo-api-relay"),
    ("todo_api.consumer", "todo-api-consumer"),
]
WORKER_QUEUE = "ical-worker-todo-events.fifo"
BEFORE, AFTER = 800, 50
# More left on the queue than alice's later changes (and bob's two): some of her earlier ones.
MARGIN = AFTER + 100


def write(engine: Engine, owner: str, count: int, prefix: str) -> list[str]:
    app, titles = TodoApplication(engine), []
    start = datetime(2027, 1, 1, 9)
    for n in range(count):
        title = f"{prefix} {n}"
        app.create(owner, CreateTodo(title=title, deadline_at=start + timedelta(minutes=n)))
        titles.append(title)
    return titles


def queued(system: System) -> int:
    sqs = system.aws.settings.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=system.aws.queue_url(WORKER_QUEUE),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def calendar_titles(client: TodoApiClient, done: dict[str, object]) -> list[str]:
    body = client.result(str(done["result_url"])).content
    return [str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]


def test_a_backlog_holds_up_neither_another_owner_nor_its_own_calendar(
    systems: Systems,
) -> None:
    system = systems.start(processes=WITHOUT_WORKER, env={"AUTH_MODE": "token"})
    alice, bob = system.add_owner("alice"), system.add_owner("bob")
    engine = make_engine(system.databases["todo-api"])
    before = write(engine, "alice", BEFORE, "before")
    alice_job = alice.request_calendar()
    write(engine, "alice", AFTER, "after")
    bob.create_todo("bob's", deadline_at="2027-02-01T09:00:00")
    bob_job = bob.request_calendar()
    engine.dispose()
    wait_until(
        lambda: (
            scalar(
                system.databases["todo-api"],
                "SELECT count(*) FROM events WHERE published_at IS NULL",
            )
            == 0
        ),
        timeout=180,
        what="the relay publishes the whole backlog",
        system=system,
    )
    assert queued(system) >= BEFORE + AFTER
    system.processes["ical-worker"] = system.process("ical_worker.worker", "ical-worker").start()

    bob_done = bob.wait_for_job(bob_job["task_url"], timeout=60)
    left_when_bob_done = queued(system)
    alice_done = alice.wait_for_job(alice_job["task_url"], timeout=90)
    left_when_alice_done = queued(system)

    assert bob_done["task_status"] == "SUCCESS", system.logs()
    assert calendar_titles(bob, bob_done) == ["bob's"]
    assert left_when_bob_done > MARGIN, (
        f"bob's calendar waited for alice's backlog to drain ({left_when_bob_done} left)"
    )
    assert alice_done["task_status"] == "SUCCESS", system.logs()
    assert calendar_titles(alice, alice_done) == before, "exactly what alice wrote before asking"
    assert left_when_alice_done > MARGIN, (
        f"alice's calendar waited for her backlog ({left_when_alice_done} left)"
    )
