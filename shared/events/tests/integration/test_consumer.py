"""The consumer loop against a real queue on moto: what it deletes, keeps, and dead-letters."""

import json
import threading
import time
import uuid
from collections.abc import Callable

import pytest
import structlog
from sqlalchemy.exc import OperationalError

from taskoverflow_events import DecodedEvent, encode, new_envelope
from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_testing.plugin import AwsWorld


def make_queue(aws: AwsWorld, *, fifo: bool, visibility: int = 30, max_receives: int = 3) -> str:
    sqs = aws.settings.client("sqs")
    suffix = ".fifo" if fifo else ""
    base = f"{aws.settings.name_prefix}c{uuid.uuid4().hex[:6]}"
    fifo_attr = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{base}-dlq{suffix}", Attributes=fifo_attr)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    return sqs.create_queue(
        QueueName=f"{base}{suffix}",
        Attributes={**fifo_attr, "VisibilityTimeout": str(visibility), "RedrivePolicy": redrive},
    )["QueueUrl"]


def send(aws: AwsWorld, url: str, body: str, group: str | None = None) -> None:
    kwargs: dict[str, str] = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        kwargs |= {"MessageGroupId": group or "g", "MessageDeduplicationId": uuid.uuid4().hex}
    aws.settings.client("sqs").send_message(**kwargs)


def event_body(owner: str = "alice") -> str:
    payload = CalendarGenerationStartedV1(job_id=uuid.uuid4())
    return encode(new_envelope(payload, producer="test", owner=owner))


def count(aws: AwsWorld, url: str) -> int:
    attrs = aws.settings.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def dlq_of(aws: AwsWorld, url: str) -> str:
    return url.replace(".fifo", "-dlq.fifo") if url.endswith(".fifo") else url + "-dlq"


def consumer(
    aws: AwsWorld, url: str, handler: Callable[[DecodedEvent], None], **kw: object
) -> QueueConsumer:
    return QueueConsumer(
        aws.settings.client("sqs"),
        url,
        {"CalendarGenerationStarted": handler},
        wait_time_seconds=1,
        **kw,  # type: ignore[arg-type]
    )


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


def test_an_event_type_with_no_handler_is_deleted_with_a_warning(aws: AwsWorld) -> None:
    url = make_queue(aws, fifo=False)
    send(aws, url, event_body())
    loop = QueueConsumer(aws.settings.client("sqs"), url, {}, wait_time_seconds=1)
    report = loop.run_once()
    assert len(report.ignored) == 1
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
