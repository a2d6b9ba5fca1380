"""The calendar export as a user sees it, with every process running for real."""

import json
import threading
import time
import uuid

import icalendar
import requests
from notifier.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify

from taskoverflow_testing.http_servers import webhook_receiver
from tests.e2e.conftest import System


def summaries(calendar: bytes) -> list[str]:
    return [str(e["summary"]) for e in icalendar.Calendar.from_ical(calendar).walk("VEVENT")]


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


def test_the_classic_interaction_queue_poll_download(system: System) -> None:
    title = unique("Watch the lecture")
    system.api.create_todo(title, deadline_at="2026-12-01T10:00:00")
    job = system.api.request_calendar()
    assert set(job) == {"task_id", "task_url"}
    first = system.api.status(job["task_url"])
    assert first["task_status"] in ("PENDING", "STARTED", "SUCCESS")
    assert first["result_url"].endswith(f"/api/v1/todos/ical/{job['task_id']}/result")
    done = system.api.wait_for_job(job["task_url"])
    assert done["task_status"] == "SUCCESS", system.logs()
    assert [s["status"] for s in done["timeline"]] == ["PENDING", "STARTED", "SUCCESS"]
    response = system.api.result(done["result_url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    lines = response.content.split(b"\r\n")
    assert lines[:3] == [
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        b"PRODID:-//Taskoverflow Calendar//taskoverflow//EN",
    ]
    assert title in summaries(response.content)


def test_the_calendar_holds_every_change_made_before_the_request_and_none_after(
    system: System,
) -> None:
    before = system.api.create_todo(unique("before"), deadline_at="2026-12-02T10:00:00")
    renamed = system.api.create_todo(unique("renamed later"), deadline_at="2026-12-03T10:00:00")
    job = system.api.request_calendar()
    # Straight after the request, without waiting: these must not be in this calendar.
    system.api.update_todo(renamed["id"], title="the new name")
    after = system.api.create_todo(unique("after"), deadline_at="2026-12-04T10:00:00")
    done = system.api.wait_for_job(job["task_url"])
    assert done["task_status"] == "SUCCESS", system.logs()
    titles = summaries(system.api.result(done["result_url"]).content)
    assert before["title"] in titles
    assert renamed["title"] in titles
    assert "the new name" not in titles
    assert after["title"] not in titles


def test_fifty_jobs_requested_at_once_all_succeed(system: System) -> None:
    marker = system.api.create_todo(unique("burst"), deadline_at="2026-12-05T10:00:00")
    jobs: list[dict[str, str]] = []
    lock = threading.Lock()

    def request() -> None:
        job = system.api.request_calendar()
        with lock:
            jobs.append(job)

    threads = [threading.Thread(target=request) for _ in range(50)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [system.api.wait_for_job(job["task_url"], timeout=120) for job in jobs]
    elapsed = time.monotonic() - started
    assert len(results) == 50
    assert all(r["task_status"] == "SUCCESS" for r in results), system.logs()
    assert len({r["task_id"] for r in results}) == 50
    for status in results[:5]:
        assert marker["title"] in summaries(system.api.result(status["result_url"]).content)
    print(f"50 jobs end to end in {elapsed:.1f}s")


def test_a_webhook_arrives_once_with_a_valid_signature(system: System) -> None:
    with webhook_receiver([204]) as hook:
        job = system.api.request_calendar({"callback_url": hook.url})
        done = system.api.wait_for_job(job["task_url"])
        time.sleep(1.5)  # room for a duplicate to show up, if there were one
    assert done["task_status"] == "SUCCESS", system.logs()
    # The webhook is reported apart from the status, once it has gone.
    deadline = time.monotonic() + 20
    while (reported := system.api.status(job["task_url"]))["notified"] is None:
        assert time.monotonic() < deadline, system.logs()
        time.sleep(0.1)
    assert reported["notified"] is True
    assert reported["notification"]["state"] == "delivered"
    assert len(hook.received) == 1
    [request] = hook.received
    assert verify(
        system.webhook_secret(), request.headers[SIGNATURE_HEADER], request.body, now=time.time()
    )
    payload = json.loads(request.body)
    assert payload["job_id"] == job["task_id"]
    assert payload["outcome"] == "success"
    assert payload["result_url"] == done["result_url"]
    uuid.UUID(request.headers[DELIVERY_HEADER])


def test_the_live_feed_follows_changes_without_a_request(system: System) -> None:
    feed_url = f"{system.api.base_url}/api/v1/calendar.ics"
    todo = system.api.create_todo(unique("in the live feed"), deadline_at="2026-12-06T10:00:00")
    deadline = time.monotonic() + 20
    response = requests.get(feed_url, timeout=10)
    # Until the worker has written the feed, it is 503 (never an empty calendar): not yet.
    while (
        response.status_code != 200 or todo["title"] not in summaries(response.content)
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
        response = requests.get(feed_url, timeout=10)
    assert response.status_code == 200, system.logs()
    assert todo["title"] in summaries(response.content), system.logs()
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in response.content
    unchanged = requests.get(
        feed_url, headers={"If-None-Match": response.headers["ETag"]}, timeout=10
    )
    assert unchanged.status_code == 304
    system.api.update_todo(todo["id"], title="renamed in the feed " + todo["title"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fresh = requests.get(
            feed_url, headers={"If-None-Match": response.headers["ETag"]}, timeout=10
        )
        if fresh.status_code == 200:
            break
        time.sleep(0.2)
    assert fresh.status_code == 200, "a change makes a new feed with a new ETag"
    assert "renamed in the feed " + todo["title"] in summaries(fresh.content)
