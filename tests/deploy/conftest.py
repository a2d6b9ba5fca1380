"""Static checks of what cannot run here (no Docker engine, no terraform binary): the compose
file, the Dockerfiles and the Terraform are parsed and checked against the code they deploy."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import hcl2
import ical_worker.config
import notifier.config
import yaml

import todo_api.config

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "infra" / "terraform"

# Variables read outside a service's Settings: by the container health check, the bootstrap and
# the topology loader, and by Python itself.
RUNTIME_VARIABLES = {
    "HEALTHCHECK_URL",
    "LIVENESS_FILE",
    "LIVENESS_MAX_AGE",
    "TOPOLOGY_FILE",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PATH",
}


class RecordingEnv(dict[str, str]):
    """A mapping that remembers every key a Settings.from_env looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def variables_read_by(settings_class: Any) -> set[str]:
    env = RecordingEnv()
    settings_class.from_env(env)
    return env.read


SERVICE_VARIABLES: Mapping[str, set[str]] = {
    "todo-api": variables_read_by(todo_api.config.Settings) | RUNTIME_VARIABLES,
    "ical-worker": variables_read_by(ical_worker.config.Settings) | RUNTIME_VARIABLES,
    "notifier": variables_read_by(notifier.config.Settings) | RUNTIME_VARIABLES,
}


def load_compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def plain(value: Any) -> Any:
    """python-hcl2 8 keeps HCL's quotes on keys and literal strings; drop them, and its
    bookkeeping keys, so tests compare names and expressions as they read in the .tf files."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@functools.cache
def load_terraform() -> dict[str, dict[str, Any]]:
    """Parsed once per session (python-hcl2 is slow); callers only read it."""
    parsed = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            parsed[path.name] = plain(hcl2.load(handle))
    return parsed


# Lookups in the parsed Terraform, shared by this directory's test modules.
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


WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"


def load_workflow() -> dict[str, Any]:
    """The deploy workflow. YAML 1.1 reads the key `on` as True; it is put back under "on"."""
    workflow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


# The roles the deploy workflow assumes, and lookups in it and in the Terraform it deploys,
# shared by the test_github_workflow_* modules.
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


def blocks(kind: str) -> dict[str, dict[str, Any]]:
    """Top-level blocks of one kind (variable, output) by name, across every .tf file."""
    return {
        name: body
        for parsed in load_terraform().values()
        for block in parsed.get(kind, [])
        for name, body in block.items()
    }
