"""ARNs the Terraform builds work in every AWS partition, and the data key serves CloudWatch Logs
for this deployment's log groups only."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.conftest import TERRAFORM, load_terraform, local, resources

PARTITION = "${data.aws_partition.current.partition}"


def test_no_arn_names_a_partition_of_its_own() -> None:
    """aws-cn and aws-us-gov ARNs start otherwise: every ARN built here asks the provider."""
    data = [block for parsed in load_terraform().values() for block in parsed.get("data", [])]
    assert any("aws_partition" in block for block in data)
    for path in sorted(TERRAFORM.glob("*.tf")):
        found = re.findall(r"arn:aws[\w-]*:", path.read_text())
        assert found == [], f"{path.name}: {found}"


def key_statements() -> list[dict[str, Any]]:
    for parsed in load_terraform().values():
        for block in parsed.get("data", []):
            document = block.get("aws_iam_policy_document", {}).get("kms")
            if document:
                return list(document["statement"])
    raise KeyError("aws_iam_policy_document.kms")


def test_logs_may_use_the_key_only_for_this_deployments_log_groups() -> None:
    by_logs = [
        statement
        for statement in key_statements()
        if any(
            "logs." in identifier
            for principal in statement.get("principals", [])
            for identifier in principal["identifiers"]
        )
    ]
    (statement,) = by_logs  # and no other statement lets the service in unconditionally
    (principal,) = statement["principals"]
    assert principal == {"type": "Service", "identifiers": ["logs.${var.region}.amazonaws.com"]}
    (condition,) = statement["condition"]
    assert condition["test"] == "ArnLike"
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert "*" not in str(condition["values"]), "each log group by name, not a pattern"
    assert condition["values"] == (
        "${[for name in values(local.log_group_name) : "
        f'"arn:{PARTITION}:logs:${{var.region}}:${{data.aws_caller_identity.current.account_id}}'
        ':log-group:${name}"]}'
    )
    # The names it lists are the log groups' own, one for every process.
    names = re.fullmatch(
        r'\$\{\{for process in \[(.*)\] : process => "(.*)"\}\}', local("log_group_name")
    )
    assert names is not None, local("log_group_name")
    assert set(re.findall(r'"([\w-]+)"', names[1])) == set(local("processes"))
    assert names[2] == "/taskoverflow/${var.name_prefix}${process}"
    groups = resources("aws_cloudwatch_log_group")["process"]
    assert groups["name"] == "${local.log_group_name[each.key]}"
    assert groups["kms_key_id"] == "${aws_kms_key.data.arn}"
