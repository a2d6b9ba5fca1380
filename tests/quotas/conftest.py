"""Quota tests talk to an endpoint that refuses what AWS refuses: the quota gate in front of the
session's emulator (moto in `make test`, LocalStack in CI's LocalStack leg)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.processes import ServiceProcess
from todo_api.store.migrate import upgrade


@pytest.fixture
def todo_db(postgres_database: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    """todo-api's database, migrated: its URL and an engine to write through."""
    url = postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture
def start_relay(
    gated_aws: AwsWorld, todo_db: tuple[str, Engine], tmp_path: Path
) -> Iterator[Callable[..., ServiceProcess]]:
    """Starts todo-api's real relay process against the gated endpoint."""
    started: list[ServiceProcess] = []

    def start(**env: str) -> ServiceProcess:
        relay_env = {
            **gated_aws.env(),
            "DATABASE_URL": todo_db[0],
            "RELAY_LAG_REPORT_SECONDS": "0.5",
            **env,
        }
        relay = ServiceProcess("todo_api.relay", relay_env, tmp_path).start()
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()
