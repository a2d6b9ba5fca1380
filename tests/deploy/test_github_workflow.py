"""The deploy workflow (.github/workflows/deploy.yml) runs only on GitHub. Here it is held against
what it deploys: every image it builds comes from its service's Dockerfile and goes to the ECR
repository Terraform declares for it, every role it assumes is one Terraform makes and trusts
only this repository's branch, it names no AWS key, and actionlint finds nothing in it."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.deploy.conftest import REPO, WORKFLOW, load_terraform, load_workflow
from tests.deploy.test_terraform import local, resources

DEPLOY_PAGE = REPO / "docs" / "operating" / "deploy.md"
ISSUER = "token.actions.githubusercontent.com"
PREFIX = "staging-eu-west-1-"  # any prefix: both sides must spell the same name with it


class Role(NamedTuple):
    variable: str  # the repository variable holding the role's ARN
    job: str  # the workflow job that assumes it
    output: str  # the Terraform output that gives the ARN
    resource: str  # the aws_iam_role


ROLES = [
    Role("AWS_DEPLOY_ROLE_ARN", "images", "github_deploy_role_arn", "github_deploy"),
    Role("AWS_PLAN_ROLE_ARN", "plan", "github_plan_role_arn", "github_plan"),
]


def jobs() -> dict[str, dict[str, Any]]:
    return load_workflow()["jobs"]  # type: ignore[no-any-return]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def step_running(job: dict[str, Any], command: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if command in s.get("run", "")]
    return step


def blocks(kind: str) -> dict[str, dict[str, Any]]:
    """Top-level blocks of one kind (variable, output) by name, across every .tf file."""
    return {
        name: body
        for parsed in load_terraform().values()
        for block in parsed.get(kind, [])
        for name, body in block.items()
    }


def policy_document(name: str) -> dict[str, Any]:
    for parsed in load_terraform().values():
        for block in parsed.get("data", []):
            document = block.get("aws_iam_policy_document", {}).get(name)
            if document:
                return document  # type: ignore[no-any-return]
    raise KeyError(name)


def render(template: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    assert "${" not in template, f"unresolved placeholder in {template}"
    return template


def test_nothing_reaches_aws_before_make_test_passes_on_postgresql() -> None:
    workflow = load_workflow()
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in workflow["on"]
    test = jobs()["test"]
    step_running(test, "make test")
    postgres = test["services"]["postgres"]
    assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust", "the tests use no password"
    assert "5432:5432" in postgres["ports"], "the tests reach PostgreSQL on 127.0.0.1:5432"
    (python,) = steps_using(test, "actions/setup-python")
    assert python["with"]["python-version"] == "3.11"
    assert jobs()["images"]["needs"] == "test"
    assert jobs()["plan"]["needs"] == "images"


def test_each_image_is_built_from_its_dockerfile_into_its_terraform_ecr_repository() -> None:
    ecr = resources("aws_ecr_repository")["service"]
    declared = set(re.findall(r'"([^"]+)"', ecr["for_each"]))
    assert declared == {"todo-api", "ical-worker", "notifier"}
    images = jobs()["images"]
    matrix = images["strategy"]["matrix"]["include"]
    built = {entry["service"]: entry["dockerfile"] for entry in matrix}
    assert len(built) == len(matrix), "a service is built twice"
    assert set(built) == declared, f"built {sorted(built)}, Terraform has {sorted(declared)}"
    for service, dockerfile in built.items():
        assert dockerfile == f"services/{service}/Dockerfile", service
        assert (REPO / dockerfile).is_file(), dockerfile

    step = step_running(images, "docker build")
    env = step["env"]
    assert env["DOCKERFILE"] == "${{ matrix.dockerfile }}"
    (build,) = [line.strip() for line in step["run"].splitlines() if "docker build" in line]
    assert '--file "$DOCKERFILE"' in build
    assert build.endswith(" ."), "the build context is the repository root"
    assert 'image="$REGISTRY/$REPOSITORY:$TAG"' in step["run"]
    assert '--tag "$image"' in build
    assert 'docker push "$image"' in step["run"]
    (login,) = steps_using(images, "aws-actions/amazon-ecr-login")
    assert env["REGISTRY"] == "${{ steps." + login["id"] + ".outputs.registry }}"

    for service in built:
        terraform_name = render(ecr["name"], {"${var.name_prefix}": PREFIX, "${each.key}": service})
        pushed_to = render(
            env["REPOSITORY"],
            {"${{ vars.NAME_PREFIX }}": PREFIX, "${{ matrix.service }}": service},
        )
        assert pushed_to == terraform_name


def test_the_images_are_tagged_with_the_commit_and_the_plan_deploys_that_tag() -> None:
    push = step_running(jobs()["images"], "docker push")
    assert push["env"]["TAG"] == "${{ github.sha }}"
    plan = step_running(jobs()["plan"], "terraform plan")
    assert '-var "image_tag=$GITHUB_SHA"' in plan["run"], "GITHUB_SHA is github.sha"
    assert '-var "name_prefix=$NAME_PREFIX"' in plan["run"]
    assert plan["env"]["NAME_PREFIX"] == "${{ vars.NAME_PREFIX }}"
    assert push["env"]["REPOSITORY"].startswith("${{ vars.NAME_PREFIX }}")
    assert {"image_tag", "name_prefix"} <= set(blocks("variable"))


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


def test_the_deploy_page_sets_every_variable_the_workflow_reads() -> None:
    page = DEPLOY_PAGE.read_text()
    for role in ROLES:
        setting = f'gh variable set {role.variable} --body "$(terraform output -raw {role.output})"'
        assert setting in page, setting
    for variable in set(re.findall(r"vars\.(\w+)", WORKFLOW.read_text())):
        assert f"`{variable}`" in page, f"{variable} is read by the workflow, not explained"


def test_the_deploy_pages_tfvars_give_every_required_variable_and_the_repository() -> None:
    (example,) = re.findall(r"```hcl\n(.*?)```", DEPLOY_PAGE.read_text(), re.S)
    named = set(re.findall(r"^\s*#?\s*(\w+)\s*=", example, re.M))
    declared = blocks("variable")
    required = {name for name, body in declared.items() if "default" not in body}
    assert named <= set(declared), named - set(declared)
    assert required | {"github_repository", "name_prefix"} <= named, required - named


def test_the_deploy_pages_loops_name_the_secrets_and_repositories_terraform_declares() -> None:
    page = DEPLOY_PAGE.read_text()
    (secrets,) = re.findall(r"for s in ([\w -]+); do\n\s+aws secretsmanager put-secret", page)
    assert set(secrets.split()) == set(local("app_secrets")), secrets
    (images,) = re.findall(r"for s in ([\w -]+); do\n\s+docker build", page)
    ecr = resources("aws_ecr_repository")["service"]
    assert set(images.split()) == set(re.findall(r'"([^"]+)"', ecr["for_each"])), images


def actionlint() -> Path:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    assert found, "actionlint is not installed: requirements-dev.txt names the package"
    return Path(found)


def test_actionlint_finds_nothing_in_the_workflow() -> None:
    result = subprocess.run(
        [str(actionlint()), "-no-color", "-oneline", str(WORKFLOW)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
