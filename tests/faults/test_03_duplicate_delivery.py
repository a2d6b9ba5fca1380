"""Fault 3: every message is delivered twice. A duplicator taps both topics and, for each message,
publishes it to the standard topic again (SNS fans the copy out to every subscriber) or, on the
FIFO topic, which drops a repeat of a deduplication id, sends a copy straight into the
subscribed queue under a new deduplication id. Each copy must have no effect of its own."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from taskoverflow_events.transport import message_group
from taskoverflow_testing.http_servers import webhook_receiver
from taskoverflow_testing.queues import TopicTap
from tests.faults.conftest import StartSystem, objects, scalar, summaries, wait_until
from tests.system import System


@contextmanager
def duplicating(system: System) -> Iterator[Counter[str]]:
    aws = system.aws
    sns, sqs = aws.settings.client("sns"), aws.settings.client("sqs")
    fifo_arn, standard_arn = aws.topic_arn("todo-events.fifo"), aws.topic_arn("calendar-events")
    # Each copy goes straight to the worker queue its type is routed to (ADR 14).
    worker_queue = {
        t: aws.queue_url(queue.removeprefix(aws.settings.name_prefix))
        for queue in (s.queue for s in aws.topology.subscriptions if "ical-worker" in s.queue)
        for t in aws.subscription_into(queue.removeprefix(aws.settings.name_prefix)).event_types
    }
    taps = {
        fifo_arn: TopicTap(aws.settings, fifo_arn),
        standard_arn: TopicTap(aws.settings, standard_arn),
    }
    copied: Counter[str] = Counter()
    seen: set[str] = set()
    stop = threading.Event()

    def attributes(message: dict) -> dict:
        return {
            k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
            for k, v in message["MessageAttributes"].items()
        }

    def run() -> None:
        while not stop.is_set():
            for arn, tap in taps.items():
                for message in tap.read(1, timeout=0.5):
                    event = json.loads(message["Body"])
                    if event["event_id"] in seen:
                        continue  # the copy coming back round: copy each message once
                    seen.add(event["event_id"])
                    if arn == standard_arn:
                        sns.publish(
                            TopicArn=arn,
                            Message=message["Body"],
                            MessageAttributes=attributes(message),
                        )
                    else:
                        sqs.send_message(
                            QueueUrl=worker_queue[event["event_type"]],
                            MessageBody=message["Body"],
                            MessageAttributes=attributes(message),
                            MessageGroupId=message_group(SimpleNamespace(**event)),
                            MessageDeduplicationId=f"copy-{event['event_id']}",
                        )
                    copied[event["event_type"]] += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield copied
    finally:
        stop.set()
        thread.join(10)


def test_every_message_delivered_twice_has_one_effect(start: StartSystem) -> None:
    system = start()
    worker_db = system.databases["ical-worker"]
    with duplicating(system) as copied, webhook_receiver([204]) as hook:
        todos = [
            system.api.create_todo(f"twice {n}", deadline_at="2027-04-01T09:00:00")
            for n in range(10)
        ]
        for todo in todos[:3]:
            system.api.update_todo(todo["id"], completed=True)
        jobs = [system.api.request_calendar({"callback_url": hook.url}) for _ in range(3)]
        done = [system.api.wait_for_job(j["task_url"], timeout=60) for j in jobs]
        # Let the copies that trail the originals arrive and be refused.
        expected = {
            "TodoChanged": 13,
            "CalendarRequested": 3,
            "CalendarGenerationStarted": 3,
            "CalendarGenerated": 3,
            "CalendarReady": 3,
        }

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(copied[k] < v for k, v in expected.items()):
            time.sleep(0.2)
        time.sleep(3)
    assert dict(copied) == expected, "every message was copied once"
    assert all(d["task_status"] == "SUCCESS" for d in done), system.logs()
    # One projection change each: 10 rows, 3 of them completed, the stream applied to its end.
    current = "SELECT count(*) FROM todo_versions WHERE valid_to IS NULL"
    assert scalar(worker_db, current) == 10
    assert scalar(worker_db, current + " AND completed") == 3
    assert scalar(worker_db, "SELECT applied_sequence FROM projection_owners") == 16
    # One render per job (jobs that arrive together share one), no object from a copy, and one
    # webhook per job.
    assert scalar(worker_db, "SELECT count(*) FROM rendered_jobs") == 3
    keys = scalar(worker_db, "SELECT string_agg(DISTINCT key, ',' ORDER BY key) FROM rendered_jobs")
    assert sorted(objects(system, "calendars/")) == keys.split(",")
    assert all(k.startswith("calendars/default/") for k in keys.split(","))
    assert sorted(json.loads(r.body)["job_id"] for r in hook.received) == sorted(
        j["task_id"] for j in jobs
    )
    # Each job reports its webhook delivered (apart from, and after, its status).
    wait_until(
        lambda: all(
            system.api.status(j["task_url"])["notification"]["state"] == "delivered" for j in jobs
        ),
        timeout=30,
        what="every job reports its webhook delivered",
        system=system,
    )
    assert len(summaries(system.api.result(done[-1]["result_url"]).content)) == 10
    # todo-api moved each job once: one STARTED and one SUCCESS step each.
    assert all(
        [s["status"] for s in d["timeline"]] == ["PENDING", "STARTED", "SUCCESS"] for d in done
    )
    # Started, Generated and the webhook's CalendarReady, once each per job.
    assert scalar(system.databases["todo-api"], "SELECT count(*) FROM handled_events") == 9
    assert scalar(system.databases["notifier"], "SELECT count(*) FROM webhook_deliveries") == 3
