"""Two owners on one system with AUTH_MODE=token: their calendar jobs run at the same time, and
each calendar holds that owner's todos and no one else's."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import icalendar
import pytest

from taskoverflow_testing.plugin import AwsEndpoint
from tests.e2e.api_client import TodoApiClient
from tests.system import System, start_system


@pytest.fixture(scope="module")
def token_system(
    aws_endpoint: AwsEndpoint,
    postgres_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    running = start_system(
        aws_endpoint.url,
        postgres_database,
        tmp_path_factory.mktemp("owners-logs"),
        env={"AUTH_MODE": "token"},
    )
    yield running
    running.stop()


def summaries(calendar: bytes) -> set[str]:
    return {str(e["summary"]) for e in icalendar.Calendar.from_ical(calendar).walk("VEVENT")}


def test_two_owners_jobs_in_flight_at_once_hold_only_their_own_todos(
    token_system: System,
) -> None:
    clients = {name: token_system.add_owner(name) for name in ("alice", "bob")}
    titles: dict[str, set[str]] = {name: set() for name in clients}
    jobs: dict[str, list[dict[str, str]]] = {name: [] for name in clients}

    def work(name: str, client: TodoApiClient) -> None:
        for _job in range(3):
            for _ in range(5):
                title = f"{name}'s todo {uuid.uuid4().hex[:6]}"
                client.create_todo(title, deadline_at="2027-01-15T09:00:00")
                titles[name].add(title)
            jobs[name].append(client.request_calendar())

    threads = [threading.Thread(target=work, args=item) for item in clients.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for name, client in clients.items():
        assert len(jobs[name]) == 3
        for index, job in enumerate(jobs[name]):
            done = client.wait_for_job(job["task_url"], timeout=60)
            assert done["task_status"] == "SUCCESS", token_system.logs()
            got = summaries(client.result(done["result_url"]).content)
            assert len(got) == 5 * (index + 1), "this job's as_of: the todos made before it"
            assert got <= titles[name], f"{name}'s calendar holds someone else's todo"
        # The other owner cannot read this owner's job, its calendar, or their todos.
        other = clients["bob" if name == "alice" else "alice"]
        assert other.session.get(jobs[name][0]["task_url"], timeout=10).status_code == 404
        assert {t["title"] for t in client.list_todos()} == titles[name]
    # Each live feed, too, is its owner's alone.
    for name, client in clients.items():
        deadline = time.monotonic() + 20
        feed: set[str] = set()
        while feed != titles[name] and time.monotonic() < deadline:
            time.sleep(0.2)
            response = client.session.get(f"{client.base_url}/api/v1/calendar.ics", timeout=10)
            # 503 until the worker has written it (never an empty calendar): not yet.
            feed = summaries(response.content) if response.status_code == 200 else set()
        assert feed == titles[name], f"{name}'s live feed"
    anonymous = TodoApiClient(token_system.api.base_url)
    assert anonymous.session.get(jobs["alice"][0]["task_url"], timeout=10).status_code == 401
    # No credential ever reaches a log line, in any process.
    logs = token_system.logs_in_full()
    assert clients["alice"].token
    assert clients["alice"].token not in logs
    assert clients["bob"].token
    assert clients["bob"].token not in logs
    assert token_system.env["SERVICE_TOKEN"] not in logs
    assert token_system.webhook_secret not in logs
