"""The feed refresher's schedule, with a recording refresh function and a short interval."""

from __future__ import annotations

import threading
import time

from ical_worker.worker.feed_refresher import FeedRefresher


def test_many_marks_within_an_interval_make_one_rewrite_per_owner() -> None:
    calls: list[str] = []
    refresher = FeedRefresher(calls.append, interval=0.2).start()
    for _ in range(50):
        refresher.mark(["alice", "bob"])
    time.sleep(0.5)
    refresher.stop()
    assert sorted(calls) == ["alice", "bob"]


def test_stop_writes_what_is_still_marked() -> None:
    calls: list[str] = []
    refresher = FeedRefresher(calls.append, interval=60).start()
    refresher.mark(["alice"])
    refresher.stop()
    assert calls == ["alice"]


def test_a_failed_rewrite_is_tried_again_next_round() -> None:
    attempts: list[str] = []
    done = threading.Event()

    def flaky(owner: str) -> None:
        attempts.append(owner)
        if len(attempts) == 1:
            raise ConnectionError("S3 is away")
        done.set()

    refresher = FeedRefresher(flaky, interval=0.05).start()
    refresher.mark(["alice"])
    assert done.wait(5)
    refresher.stop()
    assert attempts == ["alice", "alice"]
