"""One process consuming two queues (the ical-worker's changes and calendar requests): both are
served at once, and one consumer ending ends the process rather than leaving it half-serving."""

import threading
import time

from shared.events.tests.integration.conftest import count, event_body, make_queue, send
from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.consumer_group import ConsumerGroup
from taskoverflow_testing.plugin import AwsWorld


def test_a_group_serves_both_queues_and_stops_whole_when_one_consumer_ends(
    aws: AwsWorld,
) -> None:
    changes, requests = make_queue(aws, fifo=True), make_queue(aws, fifo=True)
    for _ in range(5):
        send(aws, changes, event_body("alice"), group="alice")
    send(aws, requests, event_body("bob"), group="bob#calendars")
    handled: list[str] = []
    lock = threading.Lock()

    def handle(event: DecodedEvent) -> None:
        if event.envelope.owner == "alice":
            time.sleep(0.2)  # alice's backlog is slow to apply
        with lock:
            handled.append(event.envelope.owner)

    sqs = aws.settings.client("sqs")
    group = ConsumerGroup(
        [
            QueueConsumer(sqs, url, {"CalendarGenerationStarted": handle}, wait_time_seconds=1)
            for url in (changes, requests)
        ]
    )
    runner = threading.Thread(target=group.run)
    runner.start()
    deadline = time.monotonic() + 30
    while len(handled) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(handled) == ["alice"] * 5 + ["bob"]
    assert handled.index("bob") < 4, f"bob's request did not wait for alice's changes: {handled}"
    group.consumers[1].stop()  # one consumer ends (as after a fatal error in its loop)...
    runner.join(15)
    assert not runner.is_alive(), "...and the group, so the process exits and is restarted"
    assert all(c.stopping for c in group.consumers)
    assert count(aws, changes) == count(aws, requests) == 0


def test_a_consumer_that_fails_fails_the_group_and_stops_the_other(aws: AwsWorld) -> None:
    class Broken(QueueConsumer):
        def run(self, *, max_batches: int | None = None) -> None:
            raise RuntimeError("the queue's handlers could not start")

    sqs = aws.settings.client("sqs")
    healthy = QueueConsumer(sqs, make_queue(aws, fifo=True), {}, wait_time_seconds=1)
    broken = Broken(sqs, make_queue(aws, fifo=True), {}, wait_time_seconds=1)
    group = ConsumerGroup([healthy, broken])
    failed: list[BaseException] = []

    def run() -> None:
        try:
            group.run()
        except RuntimeError as exc:
            failed.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(15)
    assert not runner.is_alive(), "the healthy consumer was stopped too"
    assert healthy.stopping
    [error] = failed
    assert "could not start" in str(error.__cause__)
