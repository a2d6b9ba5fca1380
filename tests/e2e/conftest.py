"""The whole system as real processes: todo-api (web, relay, consumer), two ical-workers, notifier,
on three PostgreSQL databases and the session's moto server, started once for the e2e tier."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.plugin import AwsEndpoint, AwsWorld, new_aws_world
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.processes import ServiceProcess
from tests.e2e.api_client import TodoApiClient
from todo_api.store.migrate import upgrade

PROCESSES = [
    ("todo_api.web", "todo-api-web"),
    ("todo_api.relay", "todo-api-relay"),
    ("todo_api.consumer", "todo-api-consumer"),
    # Two workers on the same FIFO queue: per-owner order must hold across them.
    ("ical_worker.worker", "ical-worker-1"),
    ("ical_worker.worker", "ical-worker-2"),
    ("notifier.worker", "notifier"),
]


@dataclass
class System:
    api: TodoApiClient
    aws: AwsWorld
    webhook_secret: str
    processes: dict[str, ServiceProcess]

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.log()[-4000:]}" for name, p in self.processes.items())


@pytest.fixture(scope="session")
def system(
    aws_endpoint: AwsEndpoint,
    postgres_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    aws = new_aws_world(aws_endpoint.url)
    todo_db = postgres_database()
    engine = make_engine(todo_db)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    secret = secrets.token_hex(16)
    env = {
        **aws.env(),
        "DATABASE_URL": todo_db,
        "ICAL_WORKER_DATABASE_URL": postgres_database(),
        "NOTIFIER_DATABASE_URL": postgres_database(),
        "PORT": str(port),
        "TODO_API_URL": f"http://127.0.0.1:{port}",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_SECRET": secret,
        "WEBHOOK_BACKOFF_SECONDS": "0.05",
        "CONSUMER_WAIT_SECONDS": "1",
        "RELAY_IDLE_SECONDS": "0.01",
    }
    logs = tmp_path_factory.mktemp("e2e-logs")
    processes = {
        name: ServiceProcess(
            module, env, logs, name=name, port=port if name == "todo-api-web" else None
        )
        for module, name in PROCESSES
    }
    for process in processes.values():
        process.start()
    yield System(TodoApiClient(f"http://127.0.0.1:{port}"), aws, secret, processes)
    for process in processes.values():
        process.stop()
