"""The feed refresher's schedule, with recording fakes of the feeds and the sweep (what they do
against PostgreSQL and S3 is in tests/integration/test_live_feeds.py)."""

from __future__ import annotations

import threading
from typing import Any, cast

from ical_worker.worker.feed_refresher import FeedRefresher, FeedSweep, LiveFeeds


class FakeFeeds:
    """Owners due until refreshed; `failing` owners raise, like S3 being away."""

    def __init__(self, due: list[str], *, interval: float = 0.05) -> None:
        self.interval = interval
        self.pending = list(due)
        self.failing: set[str] = set()
        self.written: list[str] = []
        self.postponed: list[str] = []
        self.throttling = False  # True: every due owner was written less than an interval ago
        self.wrote = threading.Event()

    def due(self, *, throttled: bool = True) -> list[str]:
        return [] if throttled and self.throttling else list(self.pending)

    def refresh(self, owner: str, *, wait: bool = True) -> int | None:
        assert not wait, "the refresher never waits on another render of an owner"
        if owner in self.failing:
            raise ConnectionError("S3 is away")
        self.pending.remove(owner)
        self.written.append(owner)
        self.wrote.set()
        return 1

    def postpone(self, owner: str) -> None:
        self.postponed.append(owner)


class FakeSweep:
    def __init__(self) -> None:
        self.runs = 0

    def run(self) -> list[str]:
        self.runs += 1
        return []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refresher(feeds: FakeFeeds, sweep: FakeSweep | None = None, **options: Any) -> FeedRefresher:
    return FeedRefresher(
        cast(LiveFeeds, feeds), cast(FeedSweep | None, sweep), sweep_seconds=300, **options
    )


def test_the_first_round_writes_what_a_crash_left_due_without_waiting_an_interval() -> None:
    feeds = FakeFeeds(["alice", "bob"], interval=3600)
    running = refresher(feeds).start()
    try:
        assert feeds.wrote.wait(5)
    finally:
        running.stop()
    assert sorted(feeds.written) == ["alice", "bob"]


def test_the_sweep_runs_on_the_first_round_then_once_per_sweep_interval() -> None:
    sweep, clock = FakeSweep(), Clock()
    rounds = refresher(FakeFeeds([]), sweep, clock=clock)
    rounds.run_once()
    clock.now += 299
    rounds.run_once()
    assert sweep.runs == 1
    clock.now += 1
    rounds.run_once()
    assert sweep.runs == 2


def test_a_failed_render_is_postponed_and_the_round_goes_on() -> None:
    feeds = FakeFeeds(["alice", "bob"])
    feeds.failing.add("alice")
    assert refresher(feeds).run_once() == 1
    assert feeds.postponed == ["alice"]
    assert feeds.written == ["bob"]


def test_stop_writes_what_is_still_due_past_the_throttle() -> None:
    feeds = FakeFeeds(["alice"], interval=3600)
    feeds.throttling = True  # alice changed again just after her last write
    rounds = refresher(feeds)
    assert rounds.run_once() == 0
    rounds.stop()
    assert feeds.written == ["alice"]
