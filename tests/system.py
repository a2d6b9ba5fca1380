"""The whole system as real processes: todo-api (web, relay, consumer), ical-workers and the
notifier on their own PostgreSQL databases and a moto server. Shared by the e2e and fault tiers;
the fault tier starts its own copy so it can break it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.webhook_secrets import owner_secret
from taskoverflow_testing.plugin import AwsWorld, new_aws_world
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.processes import ServiceProcess
from taskoverflow_testing.tcp_proxy import TcpProxy
from tests.e2e.api_client import TodoApiClient
from todo_api.store import owners
from todo_api.store.migrate import upgrade

T = TypeVar("T")

PROCESSES: tuple[tuple[str, str], ...] = (
    ("todo_api.web", "todo-api-web"),
    ("todo_api.relay", "todo-api-relay"),
    ("todo_api.consumer", "todo-api-consumer"),
    # Two workers on the same FIFO queue: per-owner order must hold across them.
    ("ical_worker.worker", "ical-worker-1"),
    ("ical_worker.worker", "ical-worker-2"),
    ("notifier.worker", "notifier"),
)


@dataclass
class System:
    api: TodoApiClient
    aws: AwsWorld
    # The notifier's (and the owners CLI's) key; each owner's secret derives from it (ADR 11).
    webhook_signing_key: str
    processes: dict[str, ServiceProcess]
    databases: dict[str, str]
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    # With a number, the web process runs as deployed: gunicorn, one worker, so many threads.
    web_threads: int | None = None

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.log()[-4000:]}" for name, p in self.processes.items())

    def logs_in_full(self) -> str:
        return "\n".join(p.log() for p in self.processes.values())

    def webhook_secret(self, owner: str = "default", version: int = 1) -> str:
        """The secret `owner`'s receivers verify with, at `version` (1 until a rotation): what
        `todo-api-owners` shows that owner."""
        return owner_secret(self.webhook_signing_key, owner, version)

    def owners_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`todo-api-owners --json <args>` as an operator runs it, on this system's database
        with its signing key; the answer's JSON is in .stdout, a refusal's reason in .stderr."""
        return subprocess.run(
            [sys.executable, "-m", "todo_api.admin.owners", "--json", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def add_owner(self, name: str) -> TodoApiClient:
        """A new owner (AUTH_MODE=token) and a client that speaks as them."""
        engine = make_engine(self.databases["todo-api"])
        try:
            with engine.begin() as conn:
                made = owners.create(conn, name, now=datetime.now(UTC).replace(tzinfo=None))
        finally:
            engine.dispose()
        return TodoApiClient(self.api.base_url, token=made.token)

    def process(self, module: str, name: str) -> ServiceProcess:
        if module != "todo_api.web":
            return ServiceProcess(module, self.env, self.log_dir, name=name)
        port = int(self.env["PORT"])
        if self.web_threads is None:
            return ServiceProcess(module, self.env, self.log_dir, name=name, port=port)
        gunicorn = ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads"]
        gunicorn += [str(self.web_threads), "todo_api.web.wsgi:application()"]
        return ServiceProcess(
            "gunicorn", self.env, self.log_dir, name=name, port=port, args=gunicorn
        )

    def restart(self, name: str) -> ServiceProcess:
        old = self.processes[name]
        old.stop()
        self.processes[name] = self.process(old.module, name).start()
        return self.processes[name]

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def start_system(
    aws_endpoint_url: str,
    postgres_database: Callable[[], str],
    log_dir: Path,
    *,
    processes: Sequence[tuple[str, str]] = PROCESSES,
    env: Mapping[str, str] | None = None,
    prepare: Callable[[AwsWorld], Mapping[str, str]] | None = None,
    web_threads: int | None = None,
) -> System:
    """`prepare` may change the fresh AWS world before anything starts (a shorter visibility
    timeout, say) and returns environment to add (an AWS endpoint behind a proxy, say)."""
    aws = new_aws_world(aws_endpoint_url)
    databases = {
        "todo-api": postgres_database(),
        "ical-worker": postgres_database(),
        "notifier": postgres_database(),
    }
    engine = make_engine(databases["todo-api"])
    upgrade(engine)
    engine.dispose()
    port = free_port()
    signing_key = secrets.token_hex(32)
    service_token = secrets.token_urlsafe(24)
    full_env = {
        **aws.env(),
        "DATABASE_URL": databases["todo-api"],
        "ICAL_WORKER_DATABASE_URL": databases["ical-worker"],
        "NOTIFIER_DATABASE_URL": databases["notifier"],
        "PORT": str(port),
        "TODO_API_URL": f"http://127.0.0.1:{port}",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SERVICE_TOKEN": service_token,
        "TODO_API_TOKEN": service_token,
        "WEBHOOK_SIGNING_KEY": signing_key,
        "WEBHOOK_BACKOFF_SECONDS": "0.05",
        # The tests' webhook receivers listen on loopback, which is refused by default.
        "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "CONSUMER_WAIT_SECONDS": "1",
        "RELAY_IDLE_SECONDS": "0.01",
        **(env or {}),
    }
    if prepare is not None:
        full_env.update(prepare(aws))
    system = System(
        TodoApiClient(f"http://127.0.0.1:{port}"),
        aws,
        signing_key,
        {},
        databases,
        log_dir,
        full_env,
        web_threads,
    )
    for module, name in processes:
        system.processes[name] = system.process(module, name).start()
    return system


class Systems:
    """Whole systems for one test, each on its own databases and topology, all stopped at the
    end: start(processes=…, env=…, visibility={queue: seconds}, proxy=TcpProxy|None,
    web_threads=N)."""

    def __init__(
        self,
        aws_endpoint_url: str,
        postgres_database: Callable[[], str],
        log_dirs: Callable[[], Path],
    ) -> None:
        self._endpoint = aws_endpoint_url
        self._databases = postgres_database
        self._log_dirs = log_dirs
        self._started: list[System] = []

    def start(
        self,
        *,
        processes: Sequence[tuple[str, str]] = PROCESSES,
        env: Mapping[str, str] | None = None,
        visibility: Mapping[str, int] | None = None,
        proxy: TcpProxy | None = None,
        web_threads: int | None = None,
    ) -> System:
        def prepare(aws: AwsWorld) -> dict[str, str]:
            sqs = aws.settings.client("sqs")
            for queue, seconds in (visibility or {}).items():
                sqs.set_queue_attributes(
                    QueueUrl=aws.queue_url(queue), Attributes={"VisibilityTimeout": str(seconds)}
                )
            return {"AWS_ENDPOINT_URL": proxy.endpoint_url} if proxy else {}

        system = start_system(
            self._endpoint,
            self._databases,
            self._log_dirs(),
            processes=processes,
            env=env,
            prepare=prepare,
            web_threads=web_threads,
        )
        self._started.append(system)
        return system

    def stop_all(self) -> None:
        for system in self._started:
            system.stop()


def wait_until(
    check: Callable[[], T | None], *, timeout: float, what: str, system: System | None = None
) -> T:
    """Poll `check` until it returns something truthy. A database error counts as "not yet": a
    process may not have made its tables, or PostgreSQL may be coming back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except DBAPIError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    logs = f"\n{system.logs()}" if system else ""
    raise AssertionError(f"{what}: not within {timeout:.0f}s{logs}")


def scalar(database_url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()
