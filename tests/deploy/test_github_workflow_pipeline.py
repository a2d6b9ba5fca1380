"""The deploy workflow (.github/workflows/deploy.yml) runs only on GitHub. Here its pipeline is
held against what it deploys: nothing reaches AWS before the tests pass, every image comes from
its service's Dockerfile and goes to the ECR repository Terraform declares for it, tagged with
the commit the plan deploys, and actionlint finds nothing in it."""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.deploy.conftest import (
    REPO,
    WORKFLOW,
    blocks,
    jobs,
    load_workflow,
    resources,
    steps_using,
)

PREFIX = "staging-eu-west-1-"  # any prefix: both sides must spell the same name with it


def step_running(job: dict[str, Any], command: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if command in s.get("run", "")]
    return step


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
    ci = step_running(test, ".ci/run")
    assert ci["env"]["CI_REQUIRE_LOCALSTACK"] == "1", "the LocalStack leg may not be skipped"
    assert "make test" in (REPO / ".ci/run").read_text()
    assert "CI_REQUIRE_LOCALSTACK" in (REPO / ".ci/run").read_text()
    postgres = test["services"]["postgres"]
    assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust", "the tests use no password"
    assert "5432:5432" in postgres["ports"], "the tests reach PostgreSQL on 127.0.0.1:5432"
    (python,) = steps_using(test, "actions/setup-python")
    # 3.13 for LocalStack's runtime; 3.11, listed last, is the default python3 make test uses.
    assert python["with"]["python-version"].split() == ["3.13", "3.11"]
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
