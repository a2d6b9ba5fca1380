"""The isolation tier: whole systems (real processes, PostgreSQL, moto over HTTP, owners with
tokens) in which one owner's slowness, failure or flood is made real, and another owner's work is
checked to go on regardless. Each test starts the system it needs; every wait is bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from taskoverflow_testing.plugin import AwsEndpoint
from tests.system import Systems


@pytest.fixture
def systems(
    aws_endpoint: AwsEndpoint,
    postgres_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Systems]:
    started = Systems(
        aws_endpoint.url, postgres_database, lambda: tmp_path_factory.mktemp("isolation-logs")
    )
    yield started
    started.stop_all()
