"""A flood of status long-polls cannot take the web process's threads: health checks and other
owners still get answers. The web process runs as deployed (gunicorn, a fixed number of
threads), with no worker, so no job ever finishes and every long-poll would wait its full time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.system import Systems

THREADS = 4
FLOOD = 12
WAIT = 8


def test_a_flood_of_long_polls_leaves_health_and_other_owners_answered(systems: Systems) -> None:
    system = systems.start(
        processes=[("todo_api.web", "todo-api-web")],
        env={"AUTH_MODE": "token", "LONG_POLL_MAX": "2", "LONG_POLL_MAX_PER_OWNER": "1"},
        web_threads=THREADS,
    )
    alice, bob = system.add_owner("alice"), system.add_owner("bob")
    alice_jobs = [alice.request_calendar()["task_url"] for _ in range(FLOOD)]
    bob_job = bob.request_calendar()["task_url"]

    def long_poll(url: str) -> int:
        response = requests.get(
            url, params={"wait": WAIT}, headers=alice.headers(), timeout=WAIT + 10
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=FLOOD) as pool:
        flood = [pool.submit(long_poll, url) for url in alice_jobs]
        time.sleep(1.0)  # the flood is in: more long-polls than the server has threads
        started = time.monotonic()
        health = requests.get(f"{system.api.base_url}/health", timeout=WAIT)
        health_took = time.monotonic() - started
        started = time.monotonic()
        bobs = requests.get(bob_job, params={"wait": 2}, headers=bob.headers(), timeout=WAIT)
        bob_took = time.monotonic() - started
        refused = sum(1 for f in flood if f.done() and f.result() == 429)
        statuses = [f.result() for f in flood]
    assert health.status_code == 200
    assert health_took < 2, f"/health took {health_took:.1f} s behind the flood"
    assert bobs.status_code == 200
    assert bobs.json()["task_status"] == "PENDING"
    assert 1.5 < bob_took < 8, "bob's long-poll was granted its wait, beside alice's flood"
    assert statuses.count(200) == 1, "alice's one long-poll waited; the rest were refused"
    assert statuses.count(429) == FLOOD - 1
    assert refused == FLOOD - 1, "refused at once, not after waiting"
