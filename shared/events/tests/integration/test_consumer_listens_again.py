"""Once the last batch in hand is done, the consumer listens again at once. A loop that polled
and found nothing while another loop was busy pauses, holding the turn to receive, so that the
whole consumer short-polls at most a few times a second; that pause must end when the busy loop
does. Otherwise nobody long-polls until it runs out, and a message that comes meanwhile (the
next event of a job, a moment after the last) waits for it: this added about 0.1 s to every
calendar job in `make bench`."""

import threading
import time

from shared.events.tests.integration.conftest import event_body, make_queue, send
from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_testing.plugin import AwsWorld

PAUSE_SECONDS = 3.0  # the pause after an empty short poll, long enough to tell apart


def test_a_message_sent_as_the_batch_in_hand_ends_is_received_at_once(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    sqs = aws.settings.client("sqs")
    short_polls: list[float] = []
    sqs.meta.events.register(
        "before-parameter-build.sqs.ReceiveMessage",
        lambda params, **_: (
            short_polls.append(time.monotonic()) if params["WaitTimeSeconds"] == 0 else None
        ),
    )
    sent_at: dict[str, float] = {}
    handled_at: dict[str, float] = {}
    second = event_body(owner="second")

    def handle(event: DecodedEvent) -> None:
        owner = event.envelope.owner
        handled_at[owner] = time.monotonic()
        if owner == "first":
            time.sleep(0.5)  # meanwhile the other loop polls, finds nothing and pauses
            send(aws, url, second)
            sent_at["second"] = time.monotonic()

    loops = QueueConsumer(
        sqs,
        url,
        {"CalendarGenerationStarted": handle},
        wait_time_seconds=5,
        concurrency=2,
        busy_poll_seconds=PAUSE_SECONDS,
    )
    runner = threading.Thread(target=loops.run, daemon=True)
    runner.start()
    try:
        send(aws, url, event_body(owner="first"))
        deadline = time.monotonic() + 20
        while "second" not in handled_at and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        loops.stop()
        runner.join(30)
    assert not runner.is_alive(), "the consumer did not stop"
    assert "second" in handled_at, "the second message was never handled"
    # A poll that does not wait is made only while another loop has a batch in hand.
    assert any(t < sent_at["second"] for t in short_polls), (
        "the other loop never polled while the first was busy: nothing here was tested"
    )
    waited = handled_at["second"] - sent_at["second"]
    assert waited < PAUSE_SECONDS / 2, f"received {waited:.2f} s after it was sent"


def test_a_stop_may_interrupt_a_loop_that_holds_the_busy_count(aws: AwsWorld) -> None:
    """stop() runs from the SIGTERM handler, on the main thread, which is also one of the loops
    and may be holding the lock of the busy count when the signal lands."""
    loops = QueueConsumer(aws.settings.client("sqs"), make_queue(aws, fifo=False), {})

    def interrupted() -> None:
        with loops._busy_changed:  # a loop counting its batch, as the signal lands
            loops.stop()  # the handler, on the same thread

    thread = threading.Thread(target=interrupted, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "stop() waited for a lock its own thread held"
    assert loops.stopping
