"""Least privilege on AWS, held against the parsed Terraform (ADR 13): a security group per
service reaching only what it uses, a database role per service that its task role alone may
log in as, and calendar objects encrypted with the data key and nothing else."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import make_url

from tests.deploy.conftest import REPO, load_terraform, local, resources, text

ANYWHERE = "0.0.0.0/0"
SERVICES = ("todo-api", "ical-worker", "notifier")


# The count of everything kept for one release while the services move off the group they
# shared (network_legacy.tf), and the dynamic blocks naming that group.
LEGACY = "${var.keep_legacy_tasks_security_group ? 1 : 0}"
LEGACY_GROUP = "${aws_security_group.tasks[0].id}"


def group_name(reference: str) -> str:
    """`${aws_security_group.notifier.id}` -> `sg:notifier` (and `tasks[0]` -> `sg:tasks`)."""
    found = re.fullmatch(r"\$\{aws_security_group\.(\w+)(?:\[0\])?\.id\}", reference)
    assert found, reference
    return f"sg:{found.group(1)}"


def kept(resource: dict[str, Any], legacy: bool) -> bool:
    """Whether a resource exists with the legacy flag so; only that flag may count one."""
    if "count" not in resource:
        return True
    assert resource["count"] == LEGACY, resource
    return legacy


def inline_rules(group: dict[str, Any], legacy: bool) -> list[tuple[str, dict[str, Any]]]:
    """A group's inline blocks, with its dynamic blocks for the legacy group unrolled."""
    blocks = [(d, rule) for d in ("ingress", "egress") for rule in group.get(d, [])]
    for dynamic in group.get("dynamic", []):
        for direction, body in dynamic.items():
            assert body["for_each"] == "${local.legacy_tasks_group}", body
            for rule in body["content"] if legacy else []:
                assert rule["security_groups"] == [f"${{{direction}.value}}"], rule
                blocks.append((direction, {**rule, "security_groups": [LEGACY_GROUP]}))
    return blocks


def network(legacy: bool = False) -> dict[str, set[tuple[str, int, int, str]]]:
    """Every rule of every security group, inline or not, with for_each over the services'
    groups unrolled: group -> {(direction, from port, to port, peer group or CIDR)}, with the
    legacy group and its rules (var.keep_legacy_tasks_security_group) or without."""
    rules: dict[str, set[tuple[str, int, int, str]]] = {}
    for name, group in resources("aws_security_group").items():
        if not kept(group, legacy):
            continue
        rules[f"sg:{name}"] = set()
        for direction, rule in inline_rules(group, legacy):
            peers = [group_name(g) for g in rule.get("security_groups", [])]
            for peer in [*peers, *rule.get("cidr_blocks", [])]:
                rules[f"sg:{name}"].add((direction, rule["from_port"], rule["to_port"], peer))
    of_service = local("security_group_of")
    for name, rule in resources("aws_security_group_rule").items():
        if not kept(rule, legacy):
            continue
        if "for_each" in rule:
            assert rule["for_each"] == "${local.security_group_of}", name
            assert rule["security_group_id"] == "${each.value}", name
            owners = [group_name(g) for g in of_service.values()]
        else:
            owners = [group_name(rule["security_group_id"])]
        if "source_security_group_id" in rule:
            peers = [group_name(rule["source_security_group_id"])]
        else:
            peers = rule["cidr_blocks"]
        for owner in owners:
            for peer in peers:
                rules[owner].add((rule["type"], rule["from_port"], rule["to_port"], peer))
    return rules


def test_each_service_has_a_security_group_of_its_own() -> None:
    of_service = local("security_group_of")
    assert set(of_service) == set(SERVICES)
    assert len(set(of_service.values())) == len(SERVICES)
    # The group every task shared exists only while the services move off it.
    shared = {name for name, group in resources("aws_security_group").items() if "count" in group}
    assert shared == {"tasks"}
    assert resources("aws_security_group")["tasks"]["count"] == LEGACY
    images = {process["image"] for process in local("processes").values()}
    assert images == set(SERVICES)
    service = resources("aws_ecs_service")["process"]
    (configuration,) = service["network_configuration"]
    assert configuration["security_groups"] == ["${local.security_group_of[each.value.image]}"]


# What each service reaches, once the services have moved off the group they shared.
SERVICE_NETWORK = {
    "sg:alb": {
        ("ingress", 443, 443, ANYWHERE),
        ("ingress", 80, 80, ANYWHERE),
        ("egress", 6400, 6400, "sg:todo_api"),
    },
    # The web process: from the load balancer, and the ical-worker reading the event feed.
    "sg:todo_api": {
        ("ingress", 6400, 6400, "sg:alb"),
        ("ingress", 6400, 6400, "sg:ical_worker"),
        ("egress", 5432, 5432, "sg:database"),
        ("egress", 443, 443, ANYWHERE),
    },
    "sg:ical_worker": {
        ("egress", 6400, 6400, "sg:todo_api"),
        ("egress", 5432, 5432, "sg:database"),
        ("egress", 443, 443, ANYWHERE),
    },
    # Webhook receivers anywhere, the database, and no way in.
    "sg:notifier": {
        ("egress", 5432, 5432, "sg:database"),
        ("egress", 443, 443, ANYWHERE),
        ("egress", 80, 80, ANYWHERE),
    },
    "sg:database": {
        ("ingress", 5432, 5432, "sg:todo_api"),
        ("ingress", 5432, 5432, "sg:ical_worker"),
        ("ingress", 5432, 5432, "sg:notifier"),
    },
}


def test_the_network_allows_exactly_what_each_service_uses() -> None:
    assert network(legacy=False) == SERVICE_NETWORK


def test_nothing_in_the_vpc_admits_the_notifier_but_the_database() -> None:
    for legacy in (False, True):
        admitting = {
            (group, port)
            for group, rules in network(legacy).items()
            for direction, port, _, peer in rules
            if direction == "ingress" and peer in ("sg:notifier", ANYWHERE)
        }
        assert admitting == {("sg:database", 5432), ("sg:alb", 443), ("sg:alb", 80)}, legacy


def service_url_user(service: str) -> str:
    """The user of a service's database URL, its ${local.database_role[...]} resolved."""
    url = local("database_url")[service]
    roles = local("database_role")
    resolved = re.sub(r'\$\{local\.database_role\["([\w-]+)"\]\}', lambda m: roles[m[1]], url)
    return str(make_url(resolved.replace("${local.database_host}", "db.internal")).username)


def task_statements() -> dict[str, dict[str, Any]]:
    """Every statement of the task roles' policy, static or dynamic, by sid."""
    for parsed in load_terraform().values():
        for block in parsed.get("data", []):
            document = block.get("aws_iam_policy_document", {}).get("task")
            if document:
                dynamic = [d["statement"]["content"][0] for d in document["dynamic"]]
                return {s["sid"]: s for s in [*document["statement"], *dynamic]}
    raise KeyError("aws_iam_policy_document.task")


def test_each_service_logs_in_as_its_own_database_role_with_an_iam_token() -> None:
    roles = local("database_role")
    assert set(roles) == set(SERVICES)
    assert len(set(roles.values())) == len(SERVICES), "no two services share a role"
    master = resources("aws_db_instance")["this"]
    assert master["iam_database_authentication_enabled"] is True
    for service in SERVICES:
        assert service_url_user(service) == roles[service] != master["username"]
    assert local("common_env")["DATABASE_IAM_AUTH"] == "true"
    connect = task_statements()["ConnectAsOwnDatabaseRole"]
    assert connect["actions"] == ["rds-db:connect"]
    (resource,) = connect["resources"]
    assert resource.startswith("arn:${data.aws_partition.current.partition}:rds-db:${var.region}:")
    assert resource.endswith(
        ":dbuser:${aws_db_instance.this.resource_id}/${local.database_role[each.value.image]}"
    )


def test_only_the_setup_task_holds_the_master_password() -> None:
    processes = text(resources("aws_ecs_task_definition")["process"]["container_definitions"])
    assert "master_user_secret" not in processes
    assert "secrets = local.process_secrets[each.key]" in processes
    for secret in local("app_secrets").values():
        assert "DATABASE_PASSWORD" not in secret["env"].values()
    setup = text(resources("aws_ecs_task_definition")["setup"]["container_definitions"])
    assert "master_user_secret[0].secret_arn}:password::" in setup
    urls = " ".join(f'${{local.database_url["{service}"]}}' for service in SERVICES)
    assert (
        f"taskoverflow-create-databases --admin-user ${{aws_db_instance.this.username}} {urls}"
        in setup
    )
    # It then migrates todo-api's database as todo-api's role: its task role may log in so.
    assert '"todo-api-migrate"' in setup
    assert 'aws_iam_role.task["todo-api-relay"].arn' in text(
        resources("aws_ecs_task_definition")["setup"]["task_role_arn"]
    )


def test_calendars_are_encrypted_with_the_data_key_and_no_other() -> None:
    (rule,) = resources("aws_s3_bucket_server_side_encryption_configuration")["calendars"]["rule"]
    (default,) = rule["apply_server_side_encryption_by_default"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.data.arn}"}
    policy = resources("aws_s3_bucket_policy")["calendars"]
    assert policy["bucket"] == "${aws_s3_bucket.calendars.id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.calendars_bucket.json}"
    statements = next(
        block["aws_iam_policy_document"]["calendars_bucket"]["statement"]
        for parsed in load_terraform().values()
        for block in parsed.get("data", [])
        if "calendars_bucket" in block.get("aws_iam_policy_document", {})
    )
    refused = {
        (c["variable"], tuple(c["values"]))
        for s in statements
        if s["effect"] == "Deny" and s["actions"] == ["s3:PutObject"]
        for c in s["condition"]
        if c["test"] == "StringNotEquals"
    }
    assert refused == {
        ("s3:x-amz-server-side-encryption", ("aws:kms",)),
        ("s3:x-amz-server-side-encryption-aws-kms-key-id", ("${aws_kms_key.data.arn}",)),
    }
    # moto enforces no bucket policy: that the worker asks for no encryption of its own, which
    # AWS would now refuse, is checked here (the moto test shows the default then applies).
    storage = REPO / "services" / "ical-worker" / "src" / "ical_worker" / "storage.py"
    assert "ServerSideEncryption=" not in storage.read_text()
    # The worker generates data keys with the key to write calendars, the web process decrypts
    # to serve them (every process does, for the encrypted topics and queues); no other key.
    statements = task_statements()
    use = statements["UseTheDataKey"]
    assert set(use["actions"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    for sid, statement in statements.items():
        if any(action.startswith("kms:") for action in statement["actions"]):
            assert statement["resources"] == ["${aws_kms_key.data.arn}"], sid
