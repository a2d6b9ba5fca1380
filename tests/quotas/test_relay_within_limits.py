"""The relay under AWS's limits: large events that cannot share a call go out, and an event SNS
refuses holds back its own owner only. The relay here is todo-api's real process, publishing
through the quota gate; on today's AWS a call over 256 KiB is refused with BatchRequestTooLong."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.processes import ServiceProcess
from taskoverflow_testing.queues import TopicTap, bodies
from taskoverflow_testing.quota_gate import QuotaGate
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo
from todo_api.store import outbox

TOPIC = "todo-events.fifo"


def write(
    engine: Engine, owner: str, count: int, description: str | None = None, title: str = ""
) -> None:
    app = TodoApplication(engine)
    for i in range(count):
        name = title or f"{owner} {i}"
        app.create(owner, CreateTodo(title=name, description=description))


def titles(received: list[dict[str, Any]], owner: str) -> list[str]:
    return [b["data"]["todo"]["title"] for b in received if b["owner"] == owner]


def lag_reports(relay: ServiceProcess) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in relay.log().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "outbox lag"]


def test_nine_large_events_and_another_owners_small_ones_all_go_out(
    gated_aws: AwsWorld,
    quota_gate: QuotaGate,
    todo_db: tuple[str, Engine],
    start_relay: Callable[..., ServiceProcess],
) -> None:
    tap = TopicTap(gated_aws.settings, gated_aws.topic_arn(TOPIC))
    _, engine = todo_db
    # Written while no relay runs, as during an SNS outage: the relay meets them all at once.
    # 10,000 four-byte characters make each event about 42 KB; ten of them are over 256 KiB.
    write(engine, "alice", 9, description="😀" * 10_000)
    write(engine, "bob", 3)
    start_relay()
    received = bodies(tap.read(12, timeout=30, settle=1.0))
    assert titles(received, "alice") == [f"alice {i}" for i in range(9)]
    assert titles(received, "bob") == [f"bob {i}" for i in range(3)]
    assert quota_gate.refusals == [], "the relay sent a call SNS refuses"


def test_a_refused_event_holds_back_its_owner_only_until_it_can_go(
    gated_aws: AwsWorld,
    quota_gate: QuotaGate,
    todo_db: tuple[str, Engine],
    start_relay: Callable[..., ServiceProcess],
) -> None:
    arn = gated_aws.topic_arn(TOPIC)
    sns = gated_aws.settings.client("sns")
    tap = TopicTap(gated_aws.settings, arn)
    # An operator lowered the topic's limit: carol's large event no longer fits any call.
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="MaximumMessageSize", AttributeValue="8192"
    )
    _, engine = todo_db
    write(engine, "carol", 1, description="x" * 9_000, title="carol large")
    write(engine, "carol", 2)
    write(engine, "dave", 3)
    write(engine, "erin", 3)
    relay = start_relay()
    others = bodies(tap.read(6, timeout=30, settle=2.0))
    assert sorted(b["owner"] for b in others) == ["dave"] * 3 + ["erin"] * 3
    assert "refused an event" in relay.log()
    deadline = time.monotonic() + 10
    while not any(r["OutboxOwnersPaused"] == 1 for r in lag_reports(relay)):
        assert time.monotonic() < deadline, "no lag report showed carol paused"
        time.sleep(0.2)
    paused = next(r for r in lag_reports(relay) if r["OutboxOwnersPaused"] == 1)
    assert paused["OutboxUnpublishedEvents"] == 3
    assert paused["OutboxOldestUnpublishedAge"] > 0
    # The limit is raised again: carol's events follow, in her order, after her pause.
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="MaximumMessageSize", AttributeValue="262144"
    )
    carol = bodies(tap.read(3, timeout=70))
    assert titles(carol, "carol") == ["carol large", "carol 0", "carol 1"]


def test_an_outage_partway_through_a_pass_keeps_what_went_out_before_it(
    gated_aws: AwsWorld,
    quota_gate: QuotaGate,
    todo_db: tuple[str, Engine],
    start_relay: Callable[..., ServiceProcess],
) -> None:
    _, engine = todo_db
    for owner in ("jo", "kai", "lee", "max", "ned"):
        write(engine, owner, 10)  # one pass: five calls of ten, interleaved
    quota_gate.outage("PublishBatch", after=1)
    start_relay()
    assert wait_for_unpublished(engine, 40), "the first call's ten were never recorded"
    time.sleep(1.0)  # the relay backs off and tries again meanwhile, into the outage
    assert quota_gate.calls["PublishBatch"] >= 3
    assert unpublished(engine) == 40
    quota_gate.outage_over()
    assert wait_for_unpublished(engine, 0), "the rest never went out after the outage"


def unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        return outbox.unpublished_count(conn)


def wait_for_unpublished(engine: Engine, count: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while unpublished(engine) != count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
