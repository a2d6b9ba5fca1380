"""The whole system for the benchmark: every process of every service on PostgreSQL and an AWS
endpoint (LocalStack where a Python 3.13 exists for it, else moto), all on 127.0.0.1, all
stopped when the `with` block ends."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.localstack import LocalStack, localstack_python
from taskoverflow_testing.moto_server import MotoServer
from taskoverflow_testing.plugin import AwsWorld, new_aws_world
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.postgres import create_database, drop_database
from taskoverflow_testing.processes import ServiceProcess
from todo_api.store.migrate import upgrade


@dataclass
class Stack:
    endpoint: str
    endpoint_kind: str
    emulator_pid: int
    emulator_log: Path | None
    api: str
    todo_db: str
    worker_db: str
    processes: dict[str, ServiceProcess]
    aws: AwsWorld  # the topology's queues: a measurement that needs the system idle waits on them


def _stat(pid: int | str) -> tuple[str, list[str]] | None:
    """A process's command name and the fields of /proc/<pid>/stat after it; None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, tail = stat.rsplit(")", 1)
    return head.split("(", 1)[1], tail.split()


def _cpu(fields: list[str]) -> float:
    """utime + stime, in seconds."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[str, list[str]]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            found[int(entry)] = stat
    return found


def process_tree(pid: int) -> dict[int, list[str]]:
    """A live process and all its descendants (gunicorn's workers): pid → /proc stat fields."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for child, (_, fields) in processes.items():
        children.setdefault(int(fields[1]), []).append(child)
    tree, stack = {}, [pid]
    while stack:
        current = stack.pop()
        if current in processes:
            tree[current] = processes[current][1]
        stack.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants, from /proc."""
    return sum(_cpu(fields) for fields in process_tree(pid).values())


def cpu_seconds_of_command(command: str) -> float:
    """User + system CPU of every live process named `command` (e.g. PostgreSQL's backends,
    all named "postgres"). A backend that exited since is not counted: our processes keep their
    pooled connections, so over one measurement few do."""
    return sum(_cpu(fields) for name, fields in _processes().values() if name == command)


@contextmanager
def running_system(workdir: Path, *, prefer_localstack: bool = True) -> Iterator[Stack]:
    python313 = localstack_python() if prefer_localstack else None
    emulator: LocalStack | MotoServer
    if python313 is not None:
        emulator, kind = (
            LocalStack(python313, workdir / "localstack").start(),
            "LocalStack 2026.3.0 (native)",
        )
    else:
        emulator, kind = MotoServer(log_path=workdir / "moto.log").start(), "moto server"
    databases = [create_database("bench") for _ in range(3)]
    processes: dict[str, ServiceProcess] = {}
    try:
        aws = new_aws_world(emulator.endpoint_url)
        engine = make_engine(databases[0])
        upgrade(engine)
        engine.dispose()
        port = free_port()
        service_token = secrets.token_urlsafe(24)
        env = {
            **aws.env(),
            "DATABASE_URL": databases[0],
            "ICAL_WORKER_DATABASE_URL": databases[1],
            "NOTIFIER_DATABASE_URL": databases[2],
            "PORT": str(port),
            "TODO_API_URL": f"http://127.0.0.1:{port}",
            "CONSUMER_WAIT_SECONDS": "2",
            "RELAY_IDLE_SECONDS": "0.01",
            "LOG_LEVEL": "WARNING",
            # As deployed: the worker reads any owner's event feed with the service token when a
            # calendar request overtakes the owner's changes (ADR 8). Without it, todo-api in
            # AUTH_MODE=none answers only the default owner's feed.
            "SERVICE_TOKEN": service_token,
            "TODO_API_TOKEN": service_token,
            # One owner ('default') drives the burst from 8 threads, each long-polling its job:
            # the bench measures the pipeline, not the per-owner long-poll cap.
            "LONG_POLL_MAX_PER_OWNER": "16",
            "LONG_POLL_MAX": "12",
            # The same owner writes 10,000 todos and asks for ~400 calendars within minutes: the
            # rate limits stay on (their cost is in every figure) but out of reach. At most eight
            # jobs are open at once, so the open-jobs cap keeps its default.
            "RATE_LIMIT_WRITES_PER_MINUTE": "1000000",
            "RATE_LIMIT_CALENDARS_PER_MINUTE": "1000000",
        }
        gunicorn = [
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "16",  # as deployed: a status long-poll holds a thread while it waits
            "todo_api.web.wsgi:application()",
        ]
        processes["todo-api-web"] = ServiceProcess(
            "gunicorn", env, workdir, name="todo-api-web", port=port, args=gunicorn
        )
        for module, name in (
            ("todo_api.relay", "todo-api-relay"),
            ("todo_api.consumer", "todo-api-consumer"),
            ("ical_worker.worker", "ical-worker"),
            ("notifier.worker", "notifier"),
        ):
            processes[name] = ServiceProcess(module, env, workdir, name=name)
        for process in processes.values():
            process.start()
        yield Stack(
            endpoint=emulator.endpoint_url,
            endpoint_kind=kind,
            emulator_pid=emulator.pid,
            emulator_log=emulator.log_path,
            api=f"http://127.0.0.1:{port}",
            todo_db=databases[0],
            worker_db=databases[1],
            processes=processes,
            aws=aws,
        )
    finally:
        for process in processes.values():
            process.stop()
        emulator.stop()
        for url in databases:
            drop_database(url)
