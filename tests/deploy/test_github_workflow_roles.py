"""The deploy workflow (.github/workflows/deploy.yml) runs only on GitHub, and reaches AWS
through OIDC alone: every role it assumes is one Terraform makes, trusting only this
repository's branch and allowed no more than its job needs, and the workflow names no AWS key."""

import json
import re
from typing import Any

import pytest

from tests.deploy.conftest import (
    ROLES,
    WORKFLOW,
    blocks,
    jobs,
    load_terraform,
    load_workflow,
    local,
    resources,
    steps_using,
)

ISSUER = "token.actions.githubusercontent.com"


def policy_document(name: str) -> dict[str, Any]:
    for parsed in load_terraform().values():
        for block in parsed.get("data", []):
            document = block.get("aws_iam_policy_document", {}).get(name)
            if document:
                return document  # type: ignore[no-any-return]
    raise KeyError(name)


def test_each_job_assumes_the_role_terraform_makes_for_it() -> None:
    assumed: dict[str, str] = {}
    for name, job in jobs().items():
        for step in steps_using(job, "aws-actions/configure-aws-credentials"):
            role = step["with"]["role-to-assume"]
            variable = re.fullmatch(r"\$\{\{ vars\.(\w+) \}\}", role)
            assert variable, f"{name}: the role must come from a repository variable, not {role}"
            assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
            assumed[name] = variable.group(1)
    assert assumed == {role.job: role.variable for role in ROLES}

    outputs, roles = blocks("output"), resources("aws_iam_role")
    for role in ROLES:
        assert jobs()[role.job]["if"] == f"vars.{role.variable} != ''", "skipped until set up"
        assert role.resource in roles, role
        assert outputs[role.output]["value"] == f"${{one(aws_iam_role.{role.resource}[*].arn)}}"
        trust = roles[role.resource]["assume_role_policy"]
        assert trust == "${data.aws_iam_policy_document.github_assume[0].json}", role


def test_the_roles_trust_only_this_repositorys_branch_through_githubs_oidc() -> None:
    assert local("github_oidc_url") == ISSUER
    provider = resources("aws_iam_openid_connect_provider")["github"]
    assert provider["url"] == "https://${local.github_oidc_url}"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert "aws_iam_openid_connect_provider.github" in local("github_oidc_provider_arn")

    (statement,) = policy_document("github_assume")["statement"]
    assert statement.get("effect", "Allow") == "Allow"
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["principals"] == [
        {"type": "Federated", "identifiers": ["${local.github_oidc_provider_arn}"]}
    ]
    conditions = {
        c["variable"].replace("${local.github_oidc_url}", ISSUER): c for c in statement["condition"]
    }
    assert set(conditions) == {f"{ISSUER}:aud", f"{ISSUER}:sub"}
    audience, subject = conditions[f"{ISSUER}:aud"], conditions[f"{ISSUER}:sub"]
    assert audience["test"] == "StringEquals"
    assert audience["values"] == ["sts.amazonaws.com"]
    assert subject["test"] == "StringEquals", "StringLike would let a wildcard in"
    assert subject["values"] == ["${local.github_subject}"]
    assert "*" not in json.dumps(statement)
    assert (
        local("github_subject")
        == "repo:${var.github_repository}:ref:refs/heads/${var.github_deploy_branch}"
    )


@pytest.mark.parametrize(
    ("repository", "accepted"),
    [
        ("taskoverflow/taskoverflow", True),
        ("octo-org@123456/octo-repo@789012", True),  # an immutable subject claim
        ("", True),  # no GitHub Actions roles at all
        ("octo-org/*", False),
        ("*", False),
        ("octo-org", False),
        ("octo-org/octo-repo:ref:refs/heads/dev", False),
    ],
)
def test_the_repository_variable_admits_no_wildcard(repository: str, accepted: bool) -> None:
    (validation,) = blocks("variable")["github_repository"]["validation"]
    pattern = re.search(r'regex\("(.+?)", var\.github_repository\)', validation["condition"])
    assert pattern is not None, validation["condition"]
    admits = repository == "" or re.search(pattern.group(1), repository) is not None
    assert admits == accepted


def test_the_deploy_role_may_push_only_to_the_service_repositories() -> None:
    statements = {s["sid"]: s for s in policy_document("github_deploy")["statement"]}
    login = statements.pop("LogInToTheRegistry")
    assert login["actions"] == ["ecr:GetAuthorizationToken"], "the one action on every resource"
    assert login["resources"] == ["*"]
    for sid, statement in statements.items():
        assert statement.get("effect", "Allow") == "Allow", sid
        assert all(a.startswith("ecr:") and "*" not in a for a in statement["actions"]), sid
        assert statement["resources"] == "${[for repo in aws_ecr_repository.service : repo.arn]}"
    policy = resources("aws_iam_role_policy")["github_deploy"]
    assert policy["role"] == "${aws_iam_role.github_deploy[0].id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.github_deploy.json}"
    attached = resources("aws_iam_role_policy_attachment")
    assert not [a for a in attached.values() if "github_deploy" in a["role"]]


def test_the_plan_role_reads_but_not_the_owners_data() -> None:
    attachments = resources("aws_iam_role_policy_attachment").values()
    attached = [a for a in attachments if "github_plan" in a["role"]]
    assert [a["policy_arn"] for a in attached] == [
        "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
    ]
    (deny,) = policy_document("github_plan_no_data")["statement"]
    assert deny["effect"] == "Deny"
    assert {"s3:GetObject", "sqs:ReceiveMessage", "secretsmanager:GetSecretValue"} <= set(
        deny["actions"]
    )
    for reached in ("local.calendar_objects", "aws_sqs_queue.this", "aws_secretsmanager_secret"):
        assert reached in deny["resources"], reached
    policy = resources("aws_iam_role_policy")["github_plan_no_data"]
    assert policy["role"] == "${aws_iam_role.github_plan[0].id}"


def test_no_long_lived_aws_key_is_in_the_workflow() -> None:
    text = WORKFLOW.read_text()
    assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", text), "an AWS access key id"
    for name in ("aws-access-key-id", "aws-secret-access-key", "aws-session-token"):
        assert name not in text.lower(), name
        assert name.upper().replace("-", "_") not in text.upper().replace("-", "_"), name
    stored = [s for s in re.findall(r"secrets\.(\w+)", text) if re.search("AWS|KEY|TOKEN", s, re.I)]
    assert stored == [], f"AWS is reached through OIDC, with no stored credential: {stored}"
    assert load_workflow()["permissions"] == {"contents": "read"}
    for name, job in jobs().items():
        if steps_using(job, "aws-actions/configure-aws-credentials"):
            assert job["permissions"] == {"id-token": "write", "contents": "read"}, name
