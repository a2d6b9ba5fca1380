"""Contract tests run each service's real processes against PostgreSQL and moto server."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from taskoverflow_testing.contracts import samples_dir
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.ports import free_port
from taskoverflow_testing.processes import ServiceProcess


def sample_paths() -> list[Path]:
    return sorted(samples_dir().glob("*/v*.json"))


@dataclass
class TodoApiStack:
    base_url: str
    database_url: str
    web: ServiceProcess
    relay: ServiceProcess

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", json=body, timeout=10)

    def put(self, path: str, body: Any) -> requests.Response:
        return requests.put(f"{self.base_url}{path}", json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.base_url}{path}", timeout=10)


@pytest.fixture
def todo_api(
    aws: AwsWorld, postgres_database: Callable[[], str], tmp_path: Path
) -> Iterator[TodoApiStack]:
    from taskoverflow_events.persistence import make_engine
    from todo_api.store.migrate import upgrade

    url = postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    env = {**aws.env(), "DATABASE_URL": url, "PORT": str(port)}
    web = ServiceProcess("todo_api.web", env, tmp_path, port=port).start()
    relay = ServiceProcess("todo_api.relay", env, tmp_path).start()
    yield TodoApiStack(f"http://127.0.0.1:{port}", url, web, relay)
    web.stop()
    relay.stop()
