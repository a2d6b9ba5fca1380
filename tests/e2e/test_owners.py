"""Owners on one system with AUTH_MODE=token: their calendar jobs run at the same time, and each
calendar holds that owner's todos and no one else's; each owner's webhooks are signed with that
owner's own secret, shown once by `todo-api-owners` and rotated with a grace (ADR 11); and a
removed owner's tokens stop while its name stays reserved (ADR 12)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import icalendar
import pytest
from notifier.webhooks import SIGNATURE_HEADER, verify

from taskoverflow_testing.http_servers import ReceivedRequest, webhook_receiver
from taskoverflow_testing.plugin import AwsEndpoint
from tests.e2e.api_client import TodoApiClient
from tests.system import System, start_system, wait_until


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
    assert token_system.webhook_signing_key not in logs


def created(system: System, name: str) -> tuple[TodoApiClient, str]:
    """An owner made as an operator makes one: its API client and the webhook secret shown."""
    done = system.owners_cli("create", name)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    return TodoApiClient(system.api.base_url, token=made["token"]), made.get("webhook_secret", "")


def webhook_of(system: System, client: TodoApiClient) -> ReceivedRequest:
    """The webhook of one calendar job of `client`'s, as its receiver got it."""
    with webhook_receiver([204]) as hook:
        job = client.request_calendar({"callback_url": hook.url})
        assert client.wait_for_job(job["task_url"], timeout=60)["task_status"] == "SUCCESS"
        wait_until(lambda: hook.received, timeout=30, what="the webhook arrives", system=system)
    return hook.received[0]


def verifies(secret: str, request: ReceivedRequest) -> bool:
    return verify(secret, request.headers[SIGNATURE_HEADER], request.body, now=time.time())


def test_each_owners_webhooks_are_signed_with_its_own_secret(token_system: System) -> None:
    (carol, carols_secret), (dave, daves_secret) = (
        created(token_system, "carol"),
        created(token_system, "dave"),
    )
    to_carol, to_dave = webhook_of(token_system, carol), webhook_of(token_system, dave)
    assert carols_secret != daves_secret
    assert verifies(carols_secret, to_carol)
    assert verifies(daves_secret, to_dave)
    # Dave verifies his own webhooks, and nothing he holds verifies (or could forge) carol's.
    assert not verifies(daves_secret, to_carol)
    assert not verifies(carols_secret, to_dave)
    assert carols_secret not in token_system.logs_in_full()


def test_a_rotated_secret_signs_beside_the_old_one_until_the_grace_ends(
    token_system: System,
) -> None:
    erin, first = created(token_system, "erin")
    rotated = token_system.owners_cli("rotate-webhook-secret", "erin")
    assert rotated.returncode == 0, rotated.stderr
    second = json.loads(rotated.stdout)["webhook_secret"]
    during = webhook_of(token_system, erin)
    assert during.headers[SIGNATURE_HEADER].count("v1=") == 2
    assert verifies(second, during), "the new secret verifies at once"
    assert verifies(first, during), "and the old one still does, for the grace (24 h)"
    # A leaked secret is rotated with no grace: from then on only the newest one signs.
    at_once = token_system.owners_cli("rotate-webhook-secret", "erin", "--grace-seconds", "0")
    assert at_once.returncode == 0, at_once.stderr
    third = json.loads(at_once.stdout)["webhook_secret"]
    after = webhook_of(token_system, erin)
    assert verifies(third, after)
    assert not verifies(second, after)
    assert not verifies(first, after)


def test_a_removed_owners_tokens_stop_and_its_name_is_not_given_again(
    token_system: System,
) -> None:
    frank, _ = created(token_system, "frank")
    frank.create_todo("Frank's secret plan", deadline_at="2027-01-15T09:00:00")
    job = frank.request_calendar()
    assert frank.wait_for_job(job["task_url"], timeout=60)["task_status"] == "SUCCESS"
    removed = token_system.owners_cli("remove", "frank")
    assert removed.returncode == 0, removed.stderr
    for url in (f"{frank.base_url}/api/v1/todos", job["task_url"]):
        assert frank.session.get(url, timeout=10).status_code == 401, url
    again = token_system.owners_cli("create", "frank")
    assert again.returncode == 2
    assert "reserved" in again.stderr
    assert again.stdout == "", "no token is made for the name"
