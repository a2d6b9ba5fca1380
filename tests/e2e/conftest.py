"""The e2e tier runs against one whole system, started once for the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from taskoverflow_testing.plugin import AwsEndpoint
from tests.system import System, start_system

__all__ = ["System"]


@pytest.fixture(scope="session")
def system(
    aws_endpoint: AwsEndpoint,
    postgres_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    running = start_system(aws_endpoint.url, postgres_database, tmp_path_factory.mktemp("e2e-logs"))
    yield running
    running.stop()
