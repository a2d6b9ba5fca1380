"""Static checks of what cannot run here (no Docker engine, no terraform binary): the compose
file, the Dockerfiles and the Terraform are parsed and checked against the code they deploy."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"


def load_workflow() -> dict[str, Any]:
    """The deploy workflow. YAML 1.1 reads the key `on` as True; it is put back under "on"."""
    workflow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow
