"""A message in hand must stay hidden from other consumers for as long as its handler runs,
and a stop must not abandon it halfway."""

import threading
import time

from shared.events.tests.integration.conftest import consumer, count, event_body, make_queue, send
from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_testing.plugin import AwsWorld


def test_the_heartbeat_keeps_a_slow_message_from_a_second_consumer(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False, visibility=2)
    send(aws, url, event_body())
    started = threading.Event()

    def slow(_event: DecodedEvent) -> None:
        started.set()
        time.sleep(5)

    first = consumer(aws, url, slow, heartbeat_interval=0.5)
    worker = threading.Thread(target=first.run_once)
    worker.start()
    assert started.wait(10)
    stolen: list[str] = []
    rival = consumer(aws, url, lambda e: stolen.append(e.event_type))
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        rival.run_once()
    worker.join()
    assert stolen == [], "the message became visible while its handler was still running"
    assert count(aws, url) == 0


def test_stop_lets_the_batch_in_hand_finish_and_takes_no_other(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    for _ in range(3):
        send(aws, url, event_body())
    done: list[str] = []
    loop: QueueConsumer

    def handle(event: DecodedEvent) -> None:
        loop.stop()  # asked to stop while handling the batch's first message
        time.sleep(0.2)
        done.append(str(event.envelope.event_id))

    # Batches of two: the first receive takes two of the three messages.
    loop = QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": handle},
        wait_time_seconds=1,
        batch_size=2,
    )
    loop.run(max_batches=5)
    assert loop.stopping
    assert len(done) == 2, "both messages of the batch in hand were handled"
    assert len(set(done)) == 2
    assert count(aws, url) == 1, "both were deleted, and the third was never received"


def test_after_a_stop_no_loop_waiting_for_its_turn_polls_again(aws: AwsWorld) -> None:
    """A stop waits for the poll in flight, not for one more long poll per loop queued behind
    it (with 4 loops and the longest wait, that was 80 s, past ECS's stop timeout)."""
    url = make_queue(aws, fifo=False)
    sqs = aws.settings.client("sqs")
    stopped = threading.Event()
    after_stop: list[int] = []
    sqs.meta.events.register(
        "before-parameter-build.sqs.ReceiveMessage",
        lambda params, **_: (
            after_stop.append(params["WaitTimeSeconds"]) if stopped.is_set() else None
        ),
    )
    loops = QueueConsumer(sqs, url, {}, wait_time_seconds=2, concurrency=4)
    runner = threading.Thread(target=loops.run)
    runner.start()
    time.sleep(0.5)  # one loop long-polls the empty queue; the other three wait for their turn
    stopped.set()
    loops.stop()
    runner.join(30)
    assert not runner.is_alive()
    assert after_stop == [], f"loops polled after the stop: waits {after_stop}"
