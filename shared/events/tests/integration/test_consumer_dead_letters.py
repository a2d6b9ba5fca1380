"""Poison, and messages that keep failing, end on the dead-letter queue with their reason,
and do not hold up the good messages behind them."""

import time

import pytest
import structlog

from shared.events.tests.integration.conftest import (
    consumer,
    count,
    dlq_of,
    event_body,
    make_queue,
    send,
)
from taskoverflow_testing.plugin import AwsWorld


def test_poison_goes_to_the_dead_letter_queue_with_its_reason_and_good_messages_flow(
    aws: AwsWorld,
) -> None:
    url = make_queue(aws, fifo=False)
    send(aws, url, "this is not json")
    send(aws, url, event_body())
    handled: list[str] = []
    with structlog.testing.capture_logs() as logs:
        report = consumer(aws, url, lambda e: handled.append(e.event_type)).run_once()
    assert handled == ["CalendarGenerationStarted"]
    assert len(report.dead_lettered) == 1
    assert count(aws, url) == 0
    sqs = aws.settings.client("sqs")
    dead = sqs.receive_message(
        QueueUrl=dlq_of(aws, url), MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    assert dead[0]["Body"] == "this is not json"
    assert (
        "not an event envelope" in dead[0]["MessageAttributes"]["dead_letter_reason"]["StringValue"]
    )
    poison_lines = [line for line in logs if line["event"].startswith("poison message")]
    assert poison_lines
    assert "not an event envelope" in poison_lines[0]["reason"]


def test_on_fifo_a_dead_lettered_poison_does_not_hold_back_its_group(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=True)
    send(aws, url, "this is not json", group="alice")
    send(aws, url, event_body("alice"), group="alice")
    handled: list[str] = []
    report = consumer(aws, url, lambda e: handled.append(e.envelope.owner)).run_once()
    assert len(report.dead_lettered) == 1
    assert handled == ["alice"], "the message behind the poison is handled in the same batch"
    assert count(aws, url) == 0


@pytest.mark.parametrize("fifo", [True, False])
def test_a_handler_failure_reaches_the_dlq_after_max_receive_count(
    aws: AwsWorld, fifo: bool
) -> None:
    url = make_queue(aws, fifo=fifo, visibility=1, max_receives=2)
    send(aws, url, event_body())
    loop = consumer(aws, url, lambda _e: (_ for _ in ()).throw(RuntimeError("always fails")))
    deadline = time.monotonic() + 15
    while count(aws, dlq_of(aws, url)) == 0 and time.monotonic() < deadline:
        loop.run_once()
    assert count(aws, dlq_of(aws, url)) == 1
    assert count(aws, url) == 0
