"""docker-compose.yml and the Dockerfiles, checked statically against the repository."""

import importlib.util
import json
import re
import shlex
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.deploy.conftest import REPO, SERVICE_VARIABLES, load_compose

DOCKERFILES = sorted(REPO.glob("services/*/Dockerfile"))


def compose_spec() -> dict[str, Any]:
    schema = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(schema.read_text())  # type: ignore[no-any-return]


def console_scripts() -> set[str]:
    return {ep.name for ep in entry_points(group="console_scripts")}


def runnable(command: list[str]) -> bool:
    """`python -m pkg.mod` names an importable module; anything else is an installed script."""
    if command[:2] == ["python", "-m"]:
        return importlib.util.find_spec(command[2]) is not None
    if command[0] == "gunicorn":
        module = command[-1].split(":")[0]
        return importlib.util.find_spec(module) is not None
    return command[0] in console_scripts()


def service_of(definition: dict[str, Any]) -> str:
    dockerfile = definition["build"]["dockerfile"]
    return dockerfile.split("/")[1]


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    jsonschema.validate(load_compose(), compose_spec())


def test_every_build_context_and_dockerfile_exists() -> None:
    for name, definition in load_compose()["services"].items():
        if "build" not in definition:
            continue
        assert (REPO / definition["build"]["context"]).is_dir(), name
        assert (REPO / definition["build"]["dockerfile"]).is_file(), name


def test_every_command_names_a_module_or_script_that_exists() -> None:
    for name, definition in load_compose()["services"].items():
        command = definition.get("command")
        if command:
            assert runnable(command), f"{name}: {command} does not exist"


def test_every_variable_given_to_a_service_is_one_it_reads() -> None:
    for name, definition in load_compose()["services"].items():
        if "build" not in definition:
            continue
        unknown = set(definition.get("environment", {})) - SERVICE_VARIABLES[service_of(definition)]
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_dependencies_wait_for_health_or_completion() -> None:
    services = load_compose()["services"]
    for name, definition in services.items():
        for dependency, condition in definition.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition["condition"] in ("service_healthy", "service_completed_successfully")
            if condition["condition"] == "service_healthy":
                target = services[dependency]
                assert "healthcheck" in target or "build" in target, dependency


def test_localstack_is_pinned_to_the_last_image_without_an_auth_token() -> None:
    assert load_compose()["services"]["localstack"]["image"] == "localstack/localstack:4.14.0"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_each_dockerfile_is_multi_stage_pinned_non_root_and_health_checked(
    dockerfile: Path,
) -> None:
    text = dockerfile.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base.group(1)), "pin the base image"
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2, "multi-stage"
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user, "sets a user"
    assert user[-1] not in ("root", "0"), "runs as a non-root user"
    assert "HEALTHCHECK" in text
    assert "PYTHONUNBUFFERED=1" in text
    shared, service = (
        text.index("COPY shared/events"),
        text.index(f"COPY services/{dockerfile.parent.name}"),
    )
    assert shared < service, "the shared package is installed before the service"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_each_dockerfile_copies_what_exists_and_runs_what_exists(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+) ", text, re.MULTILINE):
        assert (REPO / source).exists(), f"{dockerfile}: COPY {source}"
    for source in re.findall(r"^COPY --from=\S+ (\S+) ", text, re.MULTILINE):
        assert source.startswith("/opt/venv")
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd is not None, "CMD in exec form"
    assert runnable(json.loads(cmd.group(1))), cmd.group(1)
    health = re.search(r"^HEALTHCHECK [^\n]*\\\n\s+CMD (\[.*\])$", text, re.MULTILINE)
    assert health is not None, "HEALTHCHECK runs an exec-form command"
    assert runnable(json.loads(health.group(1)))
    final_stage = text.split("\nFROM ")[-1]
    env_names = set(re.findall(r"(\b[A-Z][A-Z0-9_]+)=", final_stage)) - {"PYTHON_IMAGE"}
    unread = env_names - SERVICE_VARIABLES[dockerfile.parent.name]
    assert not unread, f"the image sets variables nothing reads: {sorted(unread)}"


def test_the_dockerignore_sends_only_what_the_images_copy() -> None:
    text = (REPO / ".dockerignore").read_text()
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules[0] == "**"
    allowed = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    for dockerfile in DOCKERFILES:
        for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile.read_text(), re.MULTILINE):
            assert source.rstrip("/") in allowed, f"{source} is excluded from the build context"


def test_compose_shell_quoting_is_not_needed() -> None:
    for name, definition in load_compose()["services"].items():
        command = definition.get("command")
        assert command is None or isinstance(command, list), f"{name}: use exec form"
        if command:
            assert shlex.join(command)
