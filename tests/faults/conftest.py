"""The fault tier: each scenario starts a whole system of its own (real processes, PostgreSQL,
moto server over HTTP), breaks it in one way, and checks that nothing was lost or done twice.
Every wait is bounded; a scenario that cannot finish fails with the processes' logs."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import icalendar
import pytest
from sqlalchemy import Connection, text

from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.plugin import AwsEndpoint
from taskoverflow_testing.tcp_proxy import TcpProxy
from tests.system import System, Systems, scalar, wait_until

T = TypeVar("T")

StartSystem = Callable[..., System]


@pytest.fixture
def start(
    aws_endpoint: AwsEndpoint,
    postgres_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StartSystem]:
    """start(processes=…, env=…, visibility={queue: seconds}, proxy=TcpProxy|None)."""
    systems = Systems(
        aws_endpoint.url, postgres_database, lambda: tmp_path_factory.mktemp("fault-logs")
    )
    yield systems.start
    systems.stop_all()


@pytest.fixture
def aws_proxy(aws_endpoint: AwsEndpoint) -> Iterator[TcpProxy]:
    """The AWS endpoint as the processes see it: a proxy the test can take down."""
    proxy = TcpProxy(aws_endpoint.port).up()
    yield proxy
    proxy.down()


@contextmanager
def locked(database_url: str, statement: str) -> Iterator[Connection]:
    """Hold a PostgreSQL lock (LOCK TABLE …, SELECT … FOR UPDATE) until the block ends: a way to
    stop a process at a chosen point of its work without changing its code."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(text(statement))
            try:
                yield conn
            finally:
                transaction.rollback()
    finally:
        engine.dispose()


def blocked_on(database_url: str, table: str) -> list[dict[str, Any]]:
    """The sessions of `database_url` now waiting for a lock while touching `table`."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query ILIKE :pattern"
                ),
                {"pattern": f"%{table}%"},
            )
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def summaries(calendar: bytes) -> list[str]:
    return sorted(str(e["summary"]) for e in icalendar.Calendar.from_ical(calendar).walk("VEVENT"))


def objects(system: System, prefix: str) -> list[str]:
    s3 = system.aws.settings.client("s3")
    listed = s3.list_objects_v2(Bucket=system.aws.topology.bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def restart_postgresql() -> float:
    """Restart the machine's PostgreSQL cluster (the one every process uses); seconds taken."""
    clusters = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    version, name = clusters[0], clusters[1]
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"],
        check=True,
        timeout=120,
    )
    return time.monotonic() - started


def wait_for_projection(system: System, sequence: int) -> None:
    """Until the ical-worker's projection has applied the owner's stream up to `sequence`."""
    wait_until(
        lambda: (
            scalar(
                system.databases["ical-worker"],
                "SELECT max(applied_sequence) FROM projection_owners",
            )
            == sequence
        ),
        timeout=30,
        what=f"the worker's projection reaches sequence {sequence}",
        system=system,
    )


def wait_for_block(system: System, table: str, what: str) -> None:
    """Until a session of the ical-worker waits for a lock this test holds on `table`."""
    wait_until(
        lambda: blocked_on(system.databases["ical-worker"], table),
        timeout=30,
        what=what,
        system=system,
    )
