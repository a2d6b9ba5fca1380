"""The system as `make run` starts it, for the benchmark: a moto server, a SQLite file per
service and every process of the Procfile with the settings scripts/run-local gives them
(everything else at its default), all on 127.0.0.1, all stopped when the `with` block ends.

Processes and settings are read from the Procfile and from scripts/run-local rather than listed
here, so what `make run` gains is measured too. Only the ports, the file locations, the secrets
and a fresh topology prefix differ, so a bench never meets a `make run` left on this machine.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskoverflow_bench.system import Stack
from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.moto_server import MotoServer
from taskoverflow_testing.plugin import new_aws_world
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.processes import ServiceProcess
from todo_api.store.migrate import upgrade

PROCFILE = Path(__file__).resolve().parents[4] / "Procfile"
RUN_LOCAL = PROCFILE.parent / "scripts" / "run-local"
_LINE = re.compile(r"^(?P<name>[\w-]+):\s*python -m (?P<module>[\w.]+)\s*$")
# `export NAME="${NAME:-value}"` with a plain value: a default `make run` gives a setting.
_DEFAULT = re.compile(r'^export (?P<name>\w+)="\$\{(?P=name):-(?P<value>[^$"]*)\}"$')


def procfile_processes(procfile: Path = PROCFILE) -> dict[str, str]:
    """Process name → module, for every `name: python -m module` line of the Procfile."""
    found = {}
    for line in procfile.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            match = _LINE.match(line.strip())
            if match is None:
                raise ValueError(f"{procfile}: not `name: python -m module`: {line!r}")
            found[match["name"]] = match["module"]
    return found


def run_local_defaults(script: Path = RUN_LOCAL) -> dict[str, str]:
    """Setting → value, for every plain default scripts/run-local exports."""
    found = (_DEFAULT.match(line.strip()) for line in script.read_text().splitlines())
    return {m["name"]: m["value"] for m in found if m is not None}


@contextmanager
def make_run_system(workdir: Path) -> Iterator[Stack]:
    workdir.mkdir(parents=True, exist_ok=True)
    emulator = MotoServer(log_path=workdir / "moto.log").start()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    todo_db = f"sqlite:///{data / 'todo-api.db'}"
    worker_db = f"sqlite:///{data / 'ical-worker.db'}"
    processes: dict[str, ServiceProcess] = {}
    try:
        aws = new_aws_world(emulator.endpoint_url)
        engine = make_engine(todo_db)
        upgrade(engine)  # scripts/run-local runs todo-api-migrate before the Procfile
        engine.dispose()
        port = free_port()
        service_token = secrets.token_urlsafe(24)
        env = {
            **run_local_defaults(),
            **aws.env(),
            "DATABASE_URL": todo_db,
            "ICAL_WORKER_DATABASE_URL": worker_db,
            "NOTIFIER_DATABASE_URL": f"sqlite:///{data / 'notifier.db'}",
            "PORT": str(port),
            "PUBLIC_URL": f"http://localhost:{port}",
            "TODO_API_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_SIGNING_KEY": secrets.token_hex(32),  # as scripts/run-local makes it
            "SERVICE_TOKEN": service_token,
            "TODO_API_TOKEN": service_token,
            "LOG_LEVEL": "WARNING",
        }
        for name, module in procfile_processes().items():
            processes[name] = ServiceProcess(
                module, env, workdir, name=name, port=port if name == "todo-api-web" else None
            )
        for process in processes.values():
            process.start()
        yield Stack(
            endpoint=emulator.endpoint_url,
            endpoint_kind="moto server + SQLite (make run)",
            emulator_pid=emulator.pid,
            emulator_log=emulator.log_path,
            api=f"http://127.0.0.1:{port}",
            todo_db=todo_db,
            worker_db=worker_db,
            processes=processes,
            aws=aws,
        )
    finally:
        for process in processes.values():
            process.stop()
        emulator.stop()
