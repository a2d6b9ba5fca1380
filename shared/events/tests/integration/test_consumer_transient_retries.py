"""An outage is worth retrying while the message is in hand, a bug is not, and the retries must
end well inside the visibility timeout so that SQS stays the last resort."""

import time

from sqlalchemy.exc import OperationalError

from shared.events.tests.integration.conftest import consumer, count, event_body, make_queue, send
from taskoverflow_events import DecodedEvent
from taskoverflow_testing.plugin import AwsWorld


def _database_away() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))


def test_a_handler_that_meets_the_database_away_is_retried_in_place_not_redelivered(
    aws: AwsWorld,
) -> None:
    """A database restart must not cost a FIFO group a whole visibility timeout (fault 5)."""
    url = make_queue(aws, fifo=True, visibility=30)
    send(aws, url, event_body(), group="alice")
    send(aws, url, event_body(), group="alice")
    calls: list[int] = []

    def handle(event: DecodedEvent) -> None:
        calls.append(event.receive_count)
        if len(calls) <= 2:
            raise _database_away()

    report = consumer(aws, url, handle).run_once()

    assert calls == [1, 1, 1, 1], "retried in the same receive, then the next message"
    assert len(report.handled) == 2
    assert not report.failed
    assert not report.skipped
    assert count(aws, url) == 0


def test_other_failures_are_not_retried_in_place(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=True, visibility=30)
    send(aws, url, event_body(), group="alice")
    calls: list[int] = []

    def handle(event: DecodedEvent) -> None:
        calls.append(event.receive_count)
        raise ValueError("a bug, not an outage")

    report = consumer(aws, url, handle).run_once()

    assert calls == [1]
    assert len(report.failed) == 1
    assert count(aws, url) == 1


def test_in_place_retries_end_with_the_batch_budget_and_leave_the_message(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=True, visibility=30)
    send(aws, url, event_body(), group="alice")
    calls: list[float] = []

    def handle(event: DecodedEvent) -> None:
        calls.append(time.monotonic())
        raise _database_away()

    started = time.monotonic()
    report = consumer(aws, url, handle, transient_retry_seconds=1.0).run_once()

    assert 1 < len(calls) < 10
    assert time.monotonic() - started < 3, "the budget bounds the retries"
    assert len(report.failed) == 1
    assert count(aws, url) == 1, "left for SQS to redeliver"
