"""infra/terraform, checked without a terraform binary: parsed by python-hcl2, held against the
topology file and the code it deploys, and scanned by checkov."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from taskoverflow_events import topology as topo
from tests.deploy.conftest import REPO, SERVICE_VARIABLES, TERRAFORM, load_terraform

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
LONGEST_PREFIX = "staging-eu-west-1-"  # a realistic long environment prefix


def resources(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for parsed in load_terraform().values():
        for block in parsed.get("resource", []):
            for name, body in block.get(kind, {}).items():
                found[name] = body
    return found


def local(name: str) -> Any:
    for parsed in load_terraform().values():
        for block in parsed.get("locals", []):
            if name in block:
                return block[name]
    raise KeyError(name)


def text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


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
    queue_of = local("queue_of")
    for process, queue in queue_of.items():
        service = topology.queue(queue).service
        assert process.startswith(service), f"{process} consumes {service}'s queue {queue}"
    assert set(queue_of.values()) == {q.name for q in topology.queues}
    topics = {t.name for t in topology.topics}
    assert set(local("publishes_to").values()) <= topics


def procfile_processes() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    entries = [line.split(":", 1) for line in lines if line and not line.startswith("#")]
    return {name.strip(): command.strip() for name, command in entries}


def test_ecs_runs_the_same_processes_as_make_run() -> None:
    processes = local("processes")
    assert set(processes) == set(procfile_processes())
    for name, command in procfile_processes().items():
        module = command.split()[-1]
        ecs_command = processes[name]["command"]
        assert ecs_command == [] or ecs_command[-1] == module, name


def env_names(value: Any) -> set[str]:
    """The variable names of an env map, or of `merge(local.x, {K = ...})` as hcl2 leaves it."""
    if isinstance(value, dict):
        return set(value)
    names: set[str] = set()
    for referenced in re.findall(r"local\.(\w+)", value):
        names |= set(local(referenced))
    for inline in re.findall(r"\{([^{}]*)\}", value.replace("${", "(")):
        names |= set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", inline))
    return names


def test_every_variable_ecs_gives_a_process_is_one_its_service_reads() -> None:
    common = set(local("common_env"))
    for name, process in local("processes").items():
        given = common | env_names(process["env"]) | {"DATABASE_PASSWORD"}
        unread = given - SERVICE_VARIABLES[process["image"]]
        assert not unread, f"{name} is given variables it never reads: {sorted(unread)}"
        assert "TOPOLOGY_PREFIX" in given


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    assert CHECKOV.exists(), "make install creates .venv-checkov"
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        check=False,
    )
    report = json.loads(result.stdout)
    return report if isinstance(report, dict) else report[0]  # type: ignore[no-any-return]


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["results"]["failed_checks"]
    assert failed == [], [(f["check_id"], f["resource"]) for f in failed]
    assert checkov_report["summary"]["passed"] > 150


def test_every_checkov_skip_is_justified_inline() -> None:
    for path in TERRAFORM.glob("*.tf"):
        for line in Path(path).read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert check.startswith("CKV"), f"{path.name}: {line}"
                assert len(reason.strip()) > 20, f"{path.name}: a skip needs its reason: {line}"


def test_the_outbox_lag_alarm_watches_the_metric_the_relay_writes() -> None:
    from todo_api.relay import lag

    alarm = resources("aws_cloudwatch_metric_alarm")["outbox_lag"]
    assert alarm["metric_name"] == lag.OLDEST_UNPUBLISHED_AGE
    assert alarm["dimensions"] == lag.DIMENSIONS
    assert alarm["namespace"] == "${local.metrics_namespace}"
    assert local("todo_api_env")["METRICS_NAMESPACE"] == "${local.metrics_namespace}"
    assert alarm["treat_missing_data"] == "breaching", "a relay that stops reporting must alarm"


def task_policy_statements() -> dict[str, dict[str, Any]]:
    """The task roles' dynamic statements, by sid."""
    for parsed in load_terraform().values():
        for block in parsed.get("data", []):
            document = block.get("aws_iam_policy_document", {}).get("task")
            if document:
                contents = [d["statement"]["content"][0] for d in document["dynamic"]]
                return {c["sid"]: c for c in contents}
    raise KeyError("aws_iam_policy_document.task")


def test_publishers_may_read_their_own_topics_limit() -> None:
    publish = task_policy_statements()["PublishOwnTopic"]
    assert set(publish["actions"]) == {"sns:Publish", "sns:GetTopicAttributes"}
    assert publish["resources"] == ["${aws_sns_topic.this[statement.value].arn}"]


def test_every_queue_accepts_what_its_topic_may_send() -> None:
    from taskoverflow_events import quotas

    for name, queue in resources("aws_sqs_queue").items():
        assert queue.get("max_message_size") == "${var.message_max_bytes}", name
    default = next(
        block["message_max_bytes"]["default"]
        for parsed in load_terraform().values()
        for block in parsed.get("variable", [])
        if "message_max_bytes" in block
    )
    assert default >= quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES
    assert "MaximumMessageSize" not in text(resources("aws_sns_topic")["this"]), (
        "a topic's own limit would need the queues' raised with it"
    )


def test_a_standby_relay_runs_beside_the_leader() -> None:
    assert local("processes")["todo-api-relay"]["desired"] == 2


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


# What EC2 accepts in a security group's or rule's description (its API reference); anything else
# fails at apply time only, which a plan does not show.
SECURITY_GROUP_TEXT = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")


def test_security_group_descriptions_use_only_what_ec2_accepts() -> None:
    kinds = (
        "aws_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
    )
    described = {
        f"{kind}.{name}": str(body["description"])
        for kind in kinds
        for name, body in resources(kind).items()
        if "description" in body
    }
    assert len(described) >= 4, "the groups and rules describe themselves"
    refused = {k: v for k, v in described.items() if not SECURITY_GROUP_TEXT.fullmatch(v)}
    assert refused == {}, f"EC2 refuses these descriptions: {refused}"
