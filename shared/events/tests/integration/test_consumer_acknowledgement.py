"""The consumer loop against a real queue on moto: a handled message is deleted, a failed one
is kept for redelivery, and nothing that runs after the batch can undo either."""

import structlog

from shared.events.tests.integration.conftest import consumer, count, event_body, make_queue, send
from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_testing.plugin import AwsWorld


def test_handled_messages_are_deleted_and_bound_to_the_log_context(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    for _ in range(3):
        send(aws, url, event_body())
    seen: list[str] = []

    def handle(event: DecodedEvent) -> None:
        ctx = structlog.contextvars.get_contextvars()
        assert ctx["event_id"] == str(event.envelope.event_id)
        assert ctx["job_id"] == event.job_id
        seen.append(event.envelope.owner)

    report = consumer(aws, url, handle).run_once()
    assert len(report.handled) == 3
    assert seen == ["alice"] * 3
    assert count(aws, url) == 0


def test_one_failing_message_does_not_sink_the_batch(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    bodies = [event_body(owner) for owner in ("ok1", "bad", "ok2")]
    for body in bodies:
        send(aws, url, body)

    def handle(event: DecodedEvent) -> None:
        if event.envelope.owner == "bad":
            raise RuntimeError("downstream unavailable")

    report = consumer(aws, url, handle).run_once()
    assert len(report.handled) == 2
    assert len(report.failed) == 1
    assert count(aws, url) == 1, "the failed message stays for redelivery"


def test_an_event_type_with_no_handler_is_deleted_with_a_warning(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    send(aws, url, event_body())
    loop = QueueConsumer(aws.settings.client("sqs"), url, {}, wait_time_seconds=1)
    report = loop.run_once()
    assert len(report.ignored) == 1
    assert count(aws, url) == 0


def test_after_batch_gets_the_handled_events_and_its_failure_is_contained(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    for _ in range(3):
        send(aws, url, event_body())
    batches: list[list[str]] = []

    def after(events: list[DecodedEvent]) -> None:
        batches.append([e.event_type for e in events])
        raise RuntimeError("derived work failed")

    loop = QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": lambda _e: None},
        wait_time_seconds=1,
        after_batch=after,
    )
    handled = 0
    while handled < 3:
        handled += len(loop.run_once().handled)
    assert sum(len(b) for b in batches) == 3
    assert count(aws, url) == 0, "the messages were handled and deleted all the same"
