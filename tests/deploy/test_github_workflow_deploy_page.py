"""docs/operating/deploy.md is how an operator sets the deploy workflow up, so it must set every
variable the workflow reads and name what Terraform declares."""

import re

from tests.deploy.conftest import REPO, ROLES, WORKFLOW, blocks, local, resources

DEPLOY_PAGE = REPO / "docs" / "operating" / "deploy.md"


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
