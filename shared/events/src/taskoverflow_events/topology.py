"""infra/topology.yaml as typed data, with the environment prefix applied to every name."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from taskoverflow_events.calendar_keys import FEED_PREFIX, JOB_PREFIX


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    fifo: bool


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    service: str
    fifo: bool
    visibility_timeout: int
    max_receive_count: int
    dead_letter_queue: str


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    queue: str
    raw_message_delivery: bool
    event_types: tuple[str, ...]

    def filter_policy(self) -> str:
        return json.dumps({"event_type": list(self.event_types)})


@dataclass(frozen=True, slots=True)
class Topology:
    bucket: str
    # Objects under this prefix (the job calendars', and only theirs) expire after the days below.
    expire_prefix: str
    expire_after_days: int
    topics: tuple[Topic, ...]
    queues: tuple[Queue, ...]
    subscriptions: tuple[Subscription, ...]

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)


def default_path() -> Path:
    """$TOPOLOGY_FILE, else infra/topology.yaml of the checkout this package was installed from
    (pip install -e), else ./infra/topology.yaml (the container images put it there)."""
    if os.environ.get("TOPOLOGY_FILE"):
        return Path(os.environ["TOPOLOGY_FILE"])
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "infra" / "topology.yaml"
        if candidate.is_file():
            return candidate
    return Path("infra/topology.yaml")


def load(path: Path | None = None, *, prefix: str = "") -> Topology:
    raw: dict[str, Any] = yaml.safe_load((path or default_path()).read_text())
    return parse(raw, prefix=prefix)


def parse(raw: dict[str, Any], *, prefix: str = "") -> Topology:
    def named(name: str) -> str:
        return f"{prefix}{name}"

    topics = tuple(
        Topic(name=named(t["name"]), fifo=bool(t.get("fifo", False))) for t in raw["topics"]
    )
    queues = tuple(
        Queue(
            name=named(q["name"]),
            service=q["service"],
            fifo=bool(q.get("fifo", False)),
            visibility_timeout=int(q["visibility_timeout"]),
            max_receive_count=int(q["max_receive_count"]),
            dead_letter_queue=named(q["dead_letter_queue"]),
        )
        for q in raw["queues"]
    )
    subscriptions = tuple(
        Subscription(
            topic=named(s["topic"]),
            queue=named(s["queue"]),
            raw_message_delivery=bool(s.get("raw_message_delivery", True)),
            event_types=tuple(s["event_types"]),
        )
        for s in raw["subscriptions"]
    )
    topology = Topology(
        bucket=named(raw["bucket"]["name"]),
        expire_prefix=str(raw["bucket"].get("expire_prefix", "")),
        expire_after_days=int(raw["bucket"].get("expire_after_days", 30)),
        topics=topics,
        queues=queues,
        subscriptions=subscriptions,
    )
    _check(topology)
    return topology


def _check(topology: Topology) -> None:
    """Refuse a file AWS would refuse, or one that would expire what users subscribe to, before
    anything is created."""
    if topology.expire_prefix != JOB_PREFIX or FEED_PREFIX.startswith(topology.expire_prefix):
        raise ValueError(
            f"bucket.expire_prefix is {topology.expire_prefix!r}: only job calendars "
            f"({JOB_PREFIX!r}) may expire, never live feeds ({FEED_PREFIX!r})"
        )
    topic_names = {t.name: t for t in topology.topics}
    queue_names = {q.name: q for q in topology.queues}
    for queue in topology.queues:
        for name in (queue.name, queue.dead_letter_queue):
            if len(name) > 80:
                raise ValueError(f"queue name {name!r} exceeds SQS's 80 characters")
            if queue.fifo != name.endswith(".fifo"):
                raise ValueError(f"queue {name!r}: FIFO queues, and only they, end in .fifo")
    for topic in topology.topics:
        if topic.fifo != topic.name.endswith(".fifo"):
            raise ValueError(f"topic {topic.name!r}: FIFO topics, and only they, end in .fifo")
    for sub in topology.subscriptions:
        if sub.topic not in topic_names or sub.queue not in queue_names:
            raise ValueError(
                f"subscription {sub.topic} -> {sub.queue} names an undeclared resource"
            )
        if topic_names[sub.topic].fifo and not queue_names[sub.queue].fifo:
            raise ValueError(f"FIFO topic {sub.topic} can only deliver to a FIFO queue")
