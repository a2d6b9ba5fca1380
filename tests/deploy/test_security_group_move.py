"""Moving the services off the security group they all shared takes two applies
(network_legacy.tf, docs/operating/deploy.md): while the old group is kept, the tasks of the
release before, still in it until ECS has replaced them, keep the database, the load balancer
and the event feed (ADR 7: old and new run side by side); and the apply that moves the services
takes no rule away, since the AWS provider revokes a changed inline block before it authorises
the new one, and replaces a security group whose description changes."""

from __future__ import annotations

from typing import Any

from tests.deploy.conftest import load_terraform, resources
from tests.deploy.test_least_privilege import (
    ANYWHERE,
    LEGACY,
    SERVICE_NETWORK,
    network,
)

# What the release before declared, as it declared it (git show 5a0098e^:infra/terraform).
OLD_TASKS_GROUP = {
    "name": "${var.name_prefix}taskoverflow-tasks",
    "description": "Every TaskOverflow ECS task",
}
OLD_DATABASE_GROUP_DESCRIPTION = "PostgreSQL from the tasks"
OLD_BLOCKS = {
    ("alb", "egress"): {"description": "To the web tasks only", "from_port": 6400},
    ("database", "ingress"): {"description": "PostgreSQL", "from_port": 5432},
}

# What the tasks of the release before use, on top of the services' own network.
LEGACY_NETWORK = {
    "sg:tasks": {
        ("ingress", 6400, 6400, "sg:alb"),
        ("ingress", 6400, 6400, "sg:tasks"),
        ("ingress", 6400, 6400, "sg:ical_worker"),
        ("egress", 0, 0, ANYWHERE),
    },
    "sg:alb": {("egress", 6400, 6400, "sg:tasks")},
    "sg:database": {("ingress", 5432, 5432, "sg:tasks")},
    # The event feed between an old and a new release, either way.
    "sg:todo_api": {("ingress", 6400, 6400, "sg:tasks")},
    "sg:ical_worker": {("egress", 6400, 6400, "sg:tasks")},
}


def keep_legacy_default() -> Any:
    for parsed in load_terraform().values():
        for block in parsed.get("variable", []):
            if "keep_legacy_tasks_security_group" in block:
                return block["keep_legacy_tasks_security_group"]["default"]
    raise KeyError("keep_legacy_tasks_security_group")


def test_while_the_old_group_is_kept_its_tasks_keep_the_database_and_the_load_balancer() -> None:
    assert keep_legacy_default() is True, "the apply that moves the services keeps it"
    expected = {group: set(rules) for group, rules in SERVICE_NETWORK.items()}
    for group, rules in LEGACY_NETWORK.items():
        expected.setdefault(group, set()).update(rules)
    assert network(legacy=True) == expected


def test_the_move_keeps_the_old_group_and_its_rules_where_they_were() -> None:
    moved = {
        (block["from"], block["to"])
        for parsed in load_terraform().values()
        for block in parsed.get("moved", [])
    }
    for address in (
        "aws_security_group.tasks",
        "aws_security_group_rule.tasks_from_alb",
        "aws_security_group_rule.tasks_from_tasks",
    ):
        assert (f"${{{address}}}", f"${{{address}[0]}}") in moved, address
    group = resources("aws_security_group")["tasks"]
    assert {key: group[key] for key in OLD_TASKS_GROUP} == OLD_TASKS_GROUP
    for name, rule in resources("aws_security_group_rule").items():
        if "tasks" in str(rule.get("security_group_id")) + str(
            rule.get("source_security_group_id")
        ):
            assert rule["count"] == LEGACY, name


def test_the_move_adds_rules_and_revokes_none_nor_replaces_the_database_group() -> None:
    groups = resources("aws_security_group")
    assert groups["database"]["description"] == OLD_DATABASE_GROUP_DESCRIPTION
    for (name, direction), old in OLD_BLOCKS.items():
        group = groups[name]
        (dynamic,) = [d[direction] for d in group["dynamic"] if direction in d]
        (kept,) = dynamic["content"]
        assert {key: kept[key] for key in old} == old, name
        # The provider reads the group's rules back one block per description: the services'
        # block must differ, or the two would read as one and never match the configuration.
        (own,) = group[direction]
        assert own["from_port"] == old["from_port"]
        assert own["description"] != old["description"], name
