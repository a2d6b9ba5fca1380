"""When CalendarGenerationStarted goes out: with the outcome, or on its own for a slow render."""

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from ical_worker.worker.announcement import Announcement

from taskoverflow_events import Envelope, new_envelope
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[list[Envelope]] = []
        self.fail = fail
        self.called = threading.Event()

    def __call__(self, envelopes: Sequence[Envelope]) -> None:
        self.called.set()
        if self.fail:
            raise RuntimeError("SNS refused CalendarGenerationStarted")
        self.sent.append(list(envelopes))


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def started() -> list[Envelope]:
    job_id = uuid.uuid4()
    payload = CalendarGenerationStartedV1(job_id=job_id)
    return [new_envelope(payload, producer="ical-worker", owner="o", correlation_id=str(job_id))]


def test_a_render_that_ends_in_time_hands_its_started_to_the_outcome(
    executor: ThreadPoolExecutor,
) -> None:
    sink, envelopes = Sink(), started()
    announcement = Announcement(envelopes, sink, after=30, executor=executor)
    assert announcement.unsent() == envelopes
    time.sleep(0.05)
    assert sink.sent == [], "nothing goes out on its own"


def test_a_slow_render_has_its_started_sent_once_and_not_again_with_the_outcome(
    executor: ThreadPoolExecutor,
) -> None:
    sink, envelopes = Sink(), started()
    announcement = Announcement(envelopes, sink, after=0.01, executor=executor)
    assert sink.called.wait(5)
    assert announcement.unsent() == []
    assert sink.sent == [envelopes]


def test_a_failed_announcement_fails_the_outcome_but_not_a_cancel(
    executor: ThreadPoolExecutor,
) -> None:
    failing = Announcement(started(), Sink(fail=True), after=0, executor=executor)
    time.sleep(0.05)
    with pytest.raises(RuntimeError, match="refused"):
        failing.unsent()
    cancelled = Announcement(started(), Sink(fail=True), after=0, executor=executor)
    time.sleep(0.05)
    cancelled.cancel()  # the caller's own error is what propagates


def test_a_cancelled_announcement_sends_nothing(executor: ThreadPoolExecutor) -> None:
    sink = Sink()
    Announcement(started(), sink, after=0.05, executor=executor).cancel()
    time.sleep(0.2)
    assert sink.sent == []
