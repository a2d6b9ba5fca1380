"""A subscribed feed never turns into an empty calendar: with every process real, a feed object
deleted from S3 is answered 503 (never an empty 200, which calendar apps would take as "every
event is gone") until the worker's sweep notices it missing and writes it again, with every todo.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import requests

from taskoverflow_events.calendar_keys import feed_key
from taskoverflow_events.persistence import make_engine
from tests.e2e.api_client import TodoApiClient
from tests.e2e.test_calendar_export import summaries
from tests.system import Systems
from todo_api.store import owners

SWEEP_SECONDS = 2
WAIT = 45


def test_a_feed_deleted_from_s3_comes_back_with_every_todo_and_is_never_served_empty(
    systems: Systems,
) -> None:
    system = systems.start(env={"AUTH_MODE": "token", "FEED_SWEEP_SECONDS": str(SWEEP_SECONDS)})
    engine = make_engine(system.databases["todo-api"])
    with engine.begin() as conn:
        alice = owners.create(conn, "alice", now=datetime.now(UTC).replace(tzinfo=None))
    engine.dispose()
    client = TodoApiClient(system.api.base_url, token=alice.token)
    titles = sorted(
        client.create_todo(f"alice {n}", deadline_at=f"2027-01-0{n + 1}T09:00:00")["title"]
        for n in range(5)
    )
    feed_url = f"{system.api.base_url}/api/v1/calendar.ics?token={alice.feed_token}"

    def feed_until_whole() -> list[requests.Response]:
        seen = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            seen.append(requests.get(feed_url, timeout=10))
            if seen[-1].status_code == 200 and summaries(seen[-1].content) == titles:
                return seen
            time.sleep(0.1)
        raise AssertionError(f"the feed never held every todo: {seen[-1]}\n{system.logs()}")

    feed_until_whole()
    s3 = system.aws.settings.client("s3")
    bucket, key = system.aws.topology.bucket, feed_key("alice")
    s3.delete_object(Bucket=bucket, Key=key)
    deleted_at = datetime.now(UTC)
    answers = feed_until_whole()
    for answer in answers[:-1]:  # while it was missing: 503, never a calendar short of todos
        assert answer.status_code == 503, summaries(answer.content)
        assert answer.headers.get("Retry-After")
    written = s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    assert written >= deleted_at.replace(microsecond=0), "the sweep wrote the feed again"
