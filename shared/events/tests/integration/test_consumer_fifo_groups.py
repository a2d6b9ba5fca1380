"""On FIFO queues the consumer keeps each message group in order, yet one group's failure or
slow backlog must not hold up another group."""

import threading
import time

import pytest

from shared.events.tests.integration.conftest import consumer, count, event_body, make_queue, send
from taskoverflow_events import DecodedEvent
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_testing.plugin import AwsWorld


def test_a_batch_handler_gets_each_groups_consecutive_events_together(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=True)
    for owner in ("alice", "alice", "bob", "alice", "alice", "alice"):
        send(aws, url, event_body(owner), group=owner)
    runs: list[list[str]] = []
    batch = QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": lambda e: runs.append([e.envelope.owner])},
        wait_time_seconds=1,
        batch_handlers={
            "CalendarGenerationStarted": lambda es: runs.append([e.envelope.owner for e in es])
        },
    )
    handled = 0
    for _ in range(5):
        handled += len(batch.run_once().handled)
        if handled == 6:
            break
    assert handled == 6
    assert sorted(owner for run in runs for owner in run) == ["alice"] * 5 + ["bob"]
    assert max(len(run) for run in runs) > 1, "a group's consecutive events went together"
    assert all(len(set(run)) == 1 for run in runs), "a run never mixes groups"
    assert count(aws, url) == 0


def test_a_failing_batch_handler_leaves_the_whole_run_for_redelivery(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=True)
    for _ in range(3):
        send(aws, url, event_body("alice"), group="alice")

    def fail(_events: list[DecodedEvent]) -> None:
        raise RuntimeError("the database is away")

    report = QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": lambda e: None},
        wait_time_seconds=1,
        batch_handlers={"CalendarGenerationStarted": fail},
    ).run_once()
    assert report.handled == []
    assert len(report.failed) + len(report.skipped) == 3
    assert count(aws, url) == 3, "nothing deleted"


def test_on_fifo_a_failure_holds_back_the_rest_of_its_group_only(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=True)
    send(aws, url, event_body("alice"), group="alice")
    send(aws, url, event_body("alice"), group="alice")
    send(aws, url, event_body("bob"), group="bob")
    calls: list[str] = []

    def handle(event: DecodedEvent) -> None:
        calls.append(event.envelope.owner)
        if event.envelope.owner == "alice":
            raise RuntimeError("alice's first event fails")

    report = consumer(aws, url, handle).run_once()
    assert calls.count("alice") == 1, "alice's second event must wait for her first"
    assert "bob" in calls
    assert len(report.failed) == 1
    assert len(report.skipped) == 1


@pytest.mark.parametrize("loops", [1, 2])
def test_one_groups_long_batch_holds_up_another_group_only_with_one_loop(
    aws: AwsWorld, loops: int
) -> None:
    url = make_queue(aws, fifo=True, visibility=30)
    for _ in range(12):
        send(aws, url, event_body("alice"), group="alice")
    send(aws, url, event_body("bob"), group="bob")
    handled: list[tuple[str, float]] = []

    def handle(event: DecodedEvent) -> None:
        if event.envelope.owner == "alice":
            time.sleep(0.3)  # alice's backlog is slow to apply
        handled.append((event.envelope.owner, time.monotonic()))
        if len(handled) == 13:
            loop.stop()

    loop = QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": handle},
        wait_time_seconds=1,
        concurrency=loops,
    )
    runner = threading.Thread(target=loop.run, kwargs={"max_batches": 30})
    runner.start()
    runner.join(60)
    assert not runner.is_alive()
    owners = [owner for owner, _ in handled]
    assert sorted(owners) == ["alice"] * 12 + ["bob"]
    bob_at = owners.index("bob")
    if loops == 1:
        assert bob_at >= 10, "one loop: bob waits for alice's batch in hand"
    else:
        assert bob_at <= 2, f"two loops: bob went while alice's batch was in hand ({owners})"


def test_groups_in_one_batch_are_handled_at_once_and_each_deleted_when_through(
    aws: AwsWorld,
) -> None:
    url = make_queue(aws, fifo=True, visibility=30)
    send(aws, url, event_body("alice"), group="alice")
    send(aws, url, event_body("bob"), group="bob")
    bob_done = threading.Event()
    seen: dict[str, object] = {}

    def handle(event: DecodedEvent) -> None:
        if event.envelope.owner == "alice":
            # bob's message was in the same batch: it is handled, and deleted, meanwhile
            seen["bob handled"] = bob_done.wait(5)
            deadline = time.monotonic() + 5
            while count(aws, url) > 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            seen["left while alice works"] = count(aws, url)
        else:
            bob_done.set()

    loop = consumer(aws, url, handle)
    report = loop.run_once()
    assert report.received == 2, "both groups came in one batch"
    assert seen == {"bob handled": True, "left while alice works": 1}
    assert count(aws, url) == 0


def test_the_loops_take_turns_to_receive_and_long_poll_only_with_no_batch_in_hand(
    aws: AwsWorld,
) -> None:
    """Several loops long-polling at once cost a request each for nothing, and one that
    long-polls while another holds the queue's only group makes moto scan the queue for the
    whole wait (the `make run` bench saw moto at a full core, every calendar waiting on it)."""
    url = make_queue(aws, fifo=True, visibility=30)
    for _ in range(20):
        send(aws, url, event_body("alice"), group="alice")
    sqs = aws.settings.client("sqs")
    lock = threading.Lock()
    seen = {"in flight": 0, "most in flight": 0, "long polls during a batch": 0, "handling": 0}

    def before_receive(params: dict[str, object], **_: object) -> None:
        with lock:
            seen["in flight"] += 1
            seen["most in flight"] = max(seen["most in flight"], seen["in flight"])
            if params["WaitTimeSeconds"] and seen["handling"]:
                seen["long polls during a batch"] += 1

    def after_receive(**_: object) -> None:
        with lock:
            seen["in flight"] -= 1

    sqs.meta.events.register("before-parameter-build.sqs.ReceiveMessage", before_receive)
    sqs.meta.events.register("after-call.sqs.ReceiveMessage", after_receive)
    handled: list[str] = []

    def handle(event: DecodedEvent) -> None:
        with lock:
            seen["handling"] += 1
        time.sleep(0.05)
        with lock:
            seen["handling"] -= 1
            handled.append(event.envelope.owner)
            if len(handled) == 20:
                loop.stop()

    loop = QueueConsumer(
        sqs, url, {"CalendarGenerationStarted": handle}, wait_time_seconds=2, concurrency=4
    )
    runner = threading.Thread(target=loop.run, kwargs={"max_batches": 60})
    runner.start()
    runner.join(60)
    assert not runner.is_alive()
    assert handled == ["alice"] * 20
    assert seen["most in flight"] == 1, "one ReceiveMessage at a time"
    assert seen["long polls during a batch"] == 0
    assert count(aws, url) == 0
