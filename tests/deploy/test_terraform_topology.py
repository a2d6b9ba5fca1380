"""infra/terraform, parsed by python-hcl2 (there is no terraform binary here) and held against
the topology file, so that the queues and topics it declares are the ones the code expects."""

import re

import yaml

from taskoverflow_events import topology as topo
from tests.deploy.conftest import TERRAFORM, load_terraform, local, resources, text

LONGEST_PREFIX = "staging-eu-west-1-"  # a realistic long environment prefix


def test_every_tf_file_parses() -> None:
    parsed = load_terraform()
    assert len(parsed) >= 10
    assert all(parsed.values())


def test_the_terraform_reads_the_same_topology_file_as_the_bootstrap() -> None:
    expression = text(local("topology"))
    path = re.search(r'file\("\$\{path\.module\}/([^"]+)"\)', expression)
    assert path is not None, expression
    assert (TERRAFORM / path.group(1)).resolve() == topo.default_path().resolve()


def test_topics_queues_dlqs_and_subscriptions_come_from_the_topology() -> None:
    topics = resources("aws_sns_topic")["this"]
    assert "local.topics" in text(topics["for_each"])
    assert text(topics["name"]) == "${var.name_prefix}${each.key}"
    assert "each.value.fifo" in text(topics["fifo_topic"])
    queues, dlqs = resources("aws_sqs_queue")["this"], resources("aws_sqs_queue")["dlq"]
    assert "local.queues" in text(queues["for_each"])
    assert "local.queues" in text(dlqs["for_each"])
    assert "each.value.dead_letter_queue" in text(dlqs["name"])
    assert "each.value.visibility_timeout" in text(queues["visibility_timeout_seconds"])
    redrive = text(queues["redrive_policy"])
    assert "aws_sqs_queue.dlq[each.key].arn" in redrive
    assert "each.value.max_receive_count" in redrive
    subscription = resources("aws_sns_topic_subscription")["this"]
    assert "local.subscriptions" in text(subscription["for_each"])
    assert "each.value.raw_message_delivery" in text(subscription["raw_message_delivery"])
    assert "each.value.event_types" in text(subscription["filter_policy"])
    assert "subscription_dlq" in text(subscription["redrive_policy"])


def test_the_locals_key_every_topology_entry_by_name() -> None:
    raw = yaml.safe_load(topo.default_path().read_text())
    assert "t.name" in text(local("topics"))
    assert "q.name" in text(local("queues"))
    assert "${s.topic}->${s.queue}" in text(local("subscriptions"))
    for section in ("topics", "queues", "subscriptions"):
        assert raw[section], section


def test_every_queue_name_fits_sqs_80_characters_with_a_long_prefix() -> None:
    topology = topo.load(prefix=LONGEST_PREFIX)  # raises past 80 characters
    fifo_topics = {t.name for t in topology.topics if t.fifo}
    for sub in topology.subscriptions:
        # aws_sqs_queue.subscription_dlq's name, as the Terraform builds it
        base = sub.queue.removesuffix(".fifo") + "-delivery-dlq"
        name = base + (".fifo" if sub.topic in fifo_topics else "")
        assert len(name) <= 80, name


def test_each_role_consumes_and_publishes_exactly_what_the_topology_gives_its_service() -> None:
    topology = topo.load()
    queues_of = local("queues_of")
    for process, queues in queues_of.items():
        for queue in queues:
            service = topology.queue(queue).service
            assert process.startswith(service), f"{process} consumes {service}'s queue {queue}"
    consumed = [q for queues in queues_of.values() for q in queues]
    assert sorted(consumed) == sorted(q.name for q in topology.queues), "each queue, once"
    topics = {t.name for t in topology.topics}
    assert set(local("publishes_to").values()) <= topics


def test_only_job_calendars_expire_under_the_prefix_the_worker_writes_them_to() -> None:
    import uuid

    from taskoverflow_events.calendar_keys import feed_key, job_key

    lifecycle = resources("aws_s3_bucket_lifecycle_configuration")["calendars"]
    expiring = [rule for rule in lifecycle["rule"] if "expiration" in rule]
    assert len(expiring) == 1, "one rule expires objects: the job calendars'"
    assert expiring[0]["filter"] == [{"prefix": "${local.topology.bucket.expire_prefix}"}]
    prefix = yaml.safe_load(topo.default_path().read_text())["bucket"]["expire_prefix"]
    assert prefix, "an empty prefix is the whole bucket"
    assert job_key("alice", uuid.uuid4()).startswith(prefix)
    assert not feed_key("alice").startswith(prefix), "a live feed must never expire"
