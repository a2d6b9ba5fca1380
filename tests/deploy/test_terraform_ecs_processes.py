"""infra/terraform's ECS processes, parsed by python-hcl2, held against `make run`'s
Procfile and the settings each service reads, so that what runs in AWS is what runs here."""

import re
from typing import Any

from tests.deploy.conftest import REPO, SERVICE_VARIABLES, local, resources


def procfile_processes() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    entries = [line.split(":", 1) for line in lines if line and not line.startswith("#")]
    return {name.strip(): command.strip() for name, command in entries}


def test_ecs_runs_the_same_processes_as_make_run() -> None:
    processes = local("processes")
    assert set(processes) == set(procfile_processes())
    for name, command in procfile_processes().items():
        module = command.split()[-1]
        ecs_command = processes[name]["command"]
        assert ecs_command == [] or ecs_command[-1] == module, name


def env_names(value: Any) -> set[str]:
    """The variable names of an env map, or of `merge(local.x, {K = ...})` as hcl2 leaves it."""
    if isinstance(value, dict):
        return set(value)
    names: set[str] = set()
    for referenced in re.findall(r"local\.(\w+)", value):
        names |= set(local(referenced))
    for inline in re.findall(r"\{([^{}]*)\}", value.replace("${", "(")):
        names |= set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", inline))
    return names


def test_every_variable_ecs_gives_a_process_is_one_its_service_reads() -> None:
    common = set(local("common_env"))
    for name, process in local("processes").items():
        given = common | env_names(process["env"]) | {"DATABASE_PASSWORD"}
        unread = given - SERVICE_VARIABLES[process["image"]]
        assert not unread, f"{name} is given variables it never reads: {sorted(unread)}"
        assert "TOPOLOGY_PREFIX" in given


def test_the_outbox_lag_alarm_watches_the_metric_the_relay_writes() -> None:
    from todo_api.relay import lag

    alarm = resources("aws_cloudwatch_metric_alarm")["outbox_lag"]
    assert alarm["metric_name"] == lag.OLDEST_UNPUBLISHED_AGE
    assert alarm["dimensions"] == lag.DIMENSIONS
    assert alarm["namespace"] == "${local.metrics_namespace}"
    assert local("todo_api_env")["METRICS_NAMESPACE"] == "${local.metrics_namespace}"
    assert alarm["treat_missing_data"] == "breaching", "a relay that stops reporting must alarm"


def test_a_standby_relay_runs_beside_the_leader() -> None:
    assert local("processes")["todo-api-relay"]["desired"] == 2
