"""One owner's slow webhook receiver holds no one else up: not another owner's job status, not
another owner's webhook, and not its own owner's job status either.

Alice's receiver accepts each webhook and then answers one byte every 2 s, for ever: no read
ever waits long enough to time out. While it still holds her deliveries open, Bob's jobs (one
without a callback, one with a callback to a prompt receiver) must finish and his webhook must
arrive; the check is on the cause (the slow receiver still holds a connection when Bob is done),
not only on time.
"""

from __future__ import annotations

import time

from taskoverflow_testing.http_servers import drip_receiver, webhook_receiver
from tests.system import Systems, wait_until


def test_a_dripping_receiver_delays_neither_another_owner_nor_its_own_jobs(
    systems: Systems,
) -> None:
    system = systems.start(env={"AUTH_MODE": "token", "WEBHOOK_DEADLINE_SECONDS": "5"})
    alice, bob = system.add_owner("alice"), system.add_owner("bob")
    alice.create_todo("Alice's", deadline_at="2026-12-03T09:00:00")
    bob.create_todo("Bob's", deadline_at="2026-12-04T09:00:00")
    with drip_receiver(interval=2.0) as slow, webhook_receiver() as prompt:
        alice_jobs = [alice.request_calendar({"callback_url": slow.url}) for _ in range(3)]
        wait_until(
            lambda: slow.open >= 1,
            timeout=30,
            what="alice's receiver holds a delivery open",
            system=system,
        )
        started = time.monotonic()
        plain = bob.request_calendar()
        with_hook = bob.request_calendar({"callback_url": prompt.url})
        for job in (plain, with_hook):
            assert bob.wait_for_job(job["task_url"], timeout=20)["task_status"] == "SUCCESS"
        wait_until(
            lambda: len(prompt.received) >= 1,
            timeout=20,
            what="bob's webhook arrives",
            system=system,
        )
        arrived = prompt.received[0].at
        assert slow.open_at(arrived), "alice's receiver was holding a delivery when bob's came"
        assert arrived - started < 15, f"bob waited {arrived - started:.1f} s"
        # Alice's own jobs are done too: the status follows the calendar, not her webhook.
        for job in alice_jobs:
            status = alice.wait_for_job(job["task_url"], timeout=20)
            assert status["task_status"] == "SUCCESS"
            assert status["notification"]["state"] == "pending"
        # Bob's webhook is reported on his job as delivered, while alice's are still held.
        wait_until(
            lambda: bob.status(with_hook["task_url"])["notification"]["state"] == "delivered",
            timeout=20,
            what="bob's job reports its webhook delivered",
            system=system,
        )
