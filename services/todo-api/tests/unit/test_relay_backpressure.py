"""Backpressure holds changes while the queues are at their limit, asks for the depth at most
every so often, and publishes when the depth cannot be read (SQS keeps what it is given)."""

from collections.abc import Callable

import pytest
import structlog

from todo_api.config import Settings
from todo_api.relay.backpressure import Backpressure


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answering(answers: list[int | Exception]) -> Callable[[], int]:
    """A depth that gives these answers in turn, raising the exceptions among them."""

    def depth() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return depth


def test_holds_from_the_limit_on_and_lets_go_below_it() -> None:
    depths = iter([199, 200, 350, 120])
    clock = Clock()
    pressure = Backpressure(lambda: next(depths), 200, every_seconds=0.25, clock=clock)
    seen = []
    for _ in range(4):
        seen.append(pressure.holding())
        clock.now += 0.25
    assert seen == [False, True, True, False]


def test_the_depth_is_asked_for_at_most_every_interval() -> None:
    asked = []
    clock = Clock()

    def depth() -> int:
        asked.append(clock.now)
        return 500

    pressure = Backpressure(depth, 200, every_seconds=0.25, clock=clock)
    for _ in range(8):
        assert pressure.holding()
        clock.now += 0.125  # exact in binary: two looks per interval
    assert asked == [100.0, 100.25, 100.5, 100.75]
    clock.now = 100.875
    assert pressure.recheck_in() == pytest.approx(0.125)


def test_a_depth_that_cannot_be_read_holds_nothing() -> None:
    clock = Clock()
    depth = answering([900, ConnectionError("SQS unreachable"), 900])
    pressure = Backpressure(depth, 200, every_seconds=0.25, clock=clock)
    assert pressure.holding()
    clock.now += 0.3
    assert not pressure.holding(), "held on a depth nobody could read"
    clock.now += 0.3
    assert pressure.holding()


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Backpressure(lambda: 0, 0)


def test_what_was_published_since_the_last_look_counts_towards_the_limit() -> None:
    clock = Clock()
    pressure = Backpressure(lambda: 150, 200, every_seconds=0.25, clock=clock)
    assert not pressure.holding()
    pressure.published(40)
    assert not pressure.holding(), "190 of 200"
    pressure.published(10)
    assert pressure.holding(), "the pass that reached the limit is the last until the next look"
    clock.now += 0.25
    assert not pressure.holding(), "the next look finds the queue at 150 again"


def test_after_a_failed_look_publishing_does_not_start_a_hold() -> None:
    def depth() -> int:
        raise ConnectionError("SQS unreachable")

    pressure = Backpressure(depth, 10, every_seconds=0.25, clock=Clock())
    assert not pressure.holding()
    pressure.published(500)
    assert not pressure.holding()


def test_the_settings_read_the_queues_and_refuse_a_depth_below_one() -> None:
    settings = Settings.from_env(
        {"RELAY_BACKPRESSURE_QUEUES": " a.fifo, b.fifo ,", "RELAY_BACKPRESSURE_DEPTH": "5"}
    )
    assert settings.relay_backpressure_queues == ("a.fifo", "b.fifo")
    assert settings.relay_backpressure_depth == 5
    assert Settings.from_env({}).relay_backpressure_queues == (), "off unless queues are named"
    with pytest.raises(ValueError, match="RELAY_BACKPRESSURE_DEPTH must be at least 1"):
        Settings.from_env({"RELAY_BACKPRESSURE_DEPTH": "0"})


def test_a_failing_look_warns_once_per_spell_not_on_every_pass() -> None:
    clock = Clock()
    depth = answering([OSError("down")] * 5 + [3] + [OSError("down again")])
    pressure = Backpressure(depth, 10, every_seconds=0.25, clock=clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(7):
            pressure.holding()
            clock.now += 0.25
    assert [e["log_level"] for e in logs] == ["warning", "info", "warning"], logs
