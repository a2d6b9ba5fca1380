from typing import Any

import pytest
import yaml

from taskoverflow_events import REGISTRY
from taskoverflow_events import topology as topo


def raw() -> dict[str, Any]:
    return yaml.safe_load(topo.default_path().read_text())


def test_the_committed_topology_parses_and_every_queue_has_a_dead_letter_queue() -> None:
    topology = topo.load()
    assert {t.name for t in topology.topics} == {"todo-events.fifo", "calendar-events"}
    for queue in topology.queues:
        assert queue.dead_letter_queue
        assert queue.max_receive_count >= 1
        assert queue.dead_letter_queue.endswith(".fifo") == queue.fifo


def test_every_subscription_is_raw_and_filters_on_registered_event_types() -> None:
    topology = topo.load()
    for sub in topology.subscriptions:
        assert sub.raw_message_delivery
        for event_type in sub.event_types:
            REGISTRY.current_version(event_type)


def test_the_prefix_reaches_every_name() -> None:
    topology = topo.load(prefix="staging-")
    names = [t.name for t in topology.topics] + [q.name for q in topology.queues]
    names += [q.dead_letter_queue for q in topology.queues] + [topology.bucket]
    names += [s.topic for s in topology.subscriptions] + [s.queue for s in topology.subscriptions]
    assert all(n.startswith("staging-") for n in names)


def test_a_queue_name_over_80_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="80 characters"):
        topo.parse(raw(), prefix="x" * 60)


def test_a_fifo_topic_delivering_to_a_standard_queue_is_refused() -> None:
    data = raw()
    data["subscriptions"][0]["queue"] = "notifier-calendar-events"
    with pytest.raises(ValueError, match="FIFO topic"):
        topo.parse(data)


def test_a_subscription_to_an_undeclared_queue_is_refused() -> None:
    data = raw()
    data["subscriptions"][1]["queue"] = "nobody"
    with pytest.raises(ValueError, match="undeclared"):
        topo.parse(data)


def test_the_expiring_prefix_holds_job_calendars_and_no_live_feed() -> None:
    import uuid

    from taskoverflow_events.calendar_keys import JOB_PREFIX, feed_key, job_key

    topology = topo.load(prefix="staging-")
    assert topology.expire_prefix == JOB_PREFIX, "object keys carry no environment prefix"
    for owner in ("alice", "feeds", "a/b", "ünïcode owner"):
        assert job_key(owner, uuid.uuid4()).startswith(topology.expire_prefix)
        assert not feed_key(owner).startswith(topology.expire_prefix)


@pytest.mark.parametrize("prefix", ["", "feeds/", "f", None])
def test_a_lifecycle_rule_that_could_expire_a_live_feed_is_refused(prefix: str | None) -> None:
    data = raw()
    if prefix is None:
        del data["bucket"]["expire_prefix"]  # no filter at all: the whole bucket
    else:
        data["bucket"]["expire_prefix"] = prefix
    with pytest.raises(ValueError, match="never live feeds"):
        topo.parse(data)
