"""Fault 4: poison messages, a consumer that keeps failing, and the redrive command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

import requests

from taskoverflow_testing.http_servers import WebhookReceiver, webhook_receiver
from tests.faults.conftest import StartSystem, summaries, wait_until
from tests.system import System

WORKER_QUEUE = "ical-worker-todo-events.fifo"
WORKER_DLQ = "ical-worker-todo-events-dlq.fifo"
NOTIFIER_QUEUE = "notifier-calendar-events"
NOTIFIER_DLQ = "notifier-calendar-events-dlq"


def depth(system: System, queue: str) -> int:
    sqs = system.aws.settings.client("sqs")
    attrs = sqs.get_queue_attributes(
        QueueUrl=system.aws.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(system: System, queue: str) -> list[dict[str, Any]]:
    sqs = system.aws.settings.client("sqs")
    url = system.aws.queue_url(queue)
    got: list[dict[str, Any]] = []
    for _ in range(5):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        got += batch
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def poison_variants(real: dict[str, Any]) -> dict[str, str]:
    unknown_type = {**real, "event_type": "TodoArchived", "event_id": str(uuid.uuid4())}
    unknown_version = {**real, "schema_version": 99, "event_id": str(uuid.uuid4())}
    invalid = {**real, "event_id": str(uuid.uuid4()), "data": {"todo": {"id": "seven"}}}
    return {
        "not JSON": "{this is not json",
        "unknown event_type": json.dumps(unknown_type),
        "unknown schema_version": json.dumps(unknown_version),
        "schema-invalid data": json.dumps(invalid),
    }


def test_poison_is_dead_lettered_with_a_reason_while_good_messages_flow(start: StartSystem) -> None:
    system = start()
    sqs = system.aws.settings.client("sqs")
    first = system.api.create_todo("before the poison", deadline_at="2027-05-01T09:00:00")
    real = requests.get(f"{system.api.base_url}/api/v1/events", timeout=10).json()["events"][0]
    for body in poison_variants(real).values():
        # In the owner's own FIFO group, ahead of the good messages that follow.
        sqs.send_message(
            QueueUrl=system.aws.queue_url(WORKER_QUEUE),
            MessageBody=body,
            MessageGroupId="default",
            MessageDeduplicationId=uuid.uuid4().hex,
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": "TodoChanged"}},
        )
    after = [
        system.api.create_todo(f"after the poison {n}", deadline_at="2027-05-02T09:00:00")
        for n in range(3)
    ]
    job = system.api.request_calendar()

    done = system.api.wait_for_job(job["task_url"], timeout=60)
    assert done["task_status"] == "SUCCESS", system.logs()
    assert summaries(system.api.result(done["result_url"]).content) == sorted(
        [first["title"], *(t["title"] for t in after)]
    )
    dead = drain(system, WORKER_DLQ)
    reasons = sorted(m["MessageAttributes"]["dead_letter_reason"]["StringValue"] for m in dead)
    assert len(reasons) == 4, reasons
    text = " | ".join(reasons)
    for clue in ("JSON", "TodoArchived", "99", "todo"):
        assert clue in text, f"{clue!r} not in the reasons: {text}"
    worker_logs = system.processes["ical-worker-1"].log() + system.processes["ical-worker-2"].log()
    assert worker_logs.count("poison message: moving to the dead-letter queue") == 4


def test_a_message_that_keeps_failing_reaches_the_dlq_and_redrive_brings_it_back(
    start: StartSystem,
) -> None:
    system = start()
    system.processes["notifier"].stop()
    system.api.create_todo("waiting on the notifier", deadline_at="2027-05-03T09:00:00")
    with webhook_receiver([204]) as hook:
        job = system.api.request_calendar({"callback_url": hook.url})
        redriven_and_delivered(system, job, hook)


def redriven_and_delivered(system: System, job: dict[str, str], hook: WebhookReceiver) -> None:
    wait_until(
        lambda: depth(system, NOTIFIER_QUEUE) == 1,
        timeout=30,
        what="CalendarGenerated waits for the notifier",
        system=system,
    )
    # A consumer that takes the message and never finishes it, maxReceiveCount (5) times over.
    sqs = system.aws.settings.client("sqs")
    url = system.aws.queue_url(NOTIFIER_QUEUE)
    for _ in range(10):
        sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0, WaitTimeSeconds=1
        )
        if depth(system, NOTIFIER_QUEUE) == 0:
            break
    assert depth(system, NOTIFIER_QUEUE) == 0
    assert depth(system, NOTIFIER_DLQ) == 1, "SQS moved it after maxReceiveCount receives"

    system.processes["notifier"] = system.process("notifier.worker", "notifier").start()
    time.sleep(2)
    # The calendar is done (its status follows the calendar); its webhook is stuck in the DLQ.
    stuck = system.api.status(job["task_url"])
    assert stuck["task_status"] == "SUCCESS"
    assert stuck["notification"]["state"] == "pending", "stuck in the DLQ"
    assert hook.received == []
    redrive = subprocess.run(
        [sys.executable, "-m", "taskoverflow_events.redrive", NOTIFIER_DLQ],
        env={**system.env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert redrive.returncode == 0, redrive.stderr
    assert "moved 1 message(s)" in redrive.stdout
    assert "left in notifier-calendar-events-dlq: 0" in redrive.stdout
    wait_until(
        lambda: system.api.status(job["task_url"])["notification"]["state"] == "delivered",
        timeout=60,
        what="the redriven message's webhook is delivered",
        system=system,
    )
    assert len(hook.received) == 1
    assert depth(system, NOTIFIER_DLQ) == 0
