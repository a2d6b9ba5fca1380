"""The notifier's schema under Alembic, on PostgreSQL (deployments, tests) and SQLite (`make run`):
a database the previous release made with create_all is adopted with its rows; upgrading again,
or from several processes at once, is harmless; and the previous release still works on it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from notifier.store.migrate import upgrade
from notifier.store.tables import metadata
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
    update,
)

from taskoverflow_events.persistence import make_engine

HEAD = "0003"

# The delivery log exactly as the previous release declared it and created it (create_all).
previous = MetaData()
old_deliveries = Table(
    "deliveries",
    previous,
    Column("event_id", String(36), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("state", String(10), nullable=False),
    Column("url", Text, nullable=True),
    Column("delivered", Boolean, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("status_code", Integer, nullable=True),
    Column("claimed_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
)


@pytest.fixture(params=["postgresql", "sqlite"])
def database(
    request: pytest.FixtureRequest, postgres_database: Callable[[], str], tmp_path: Path
) -> Iterator[Callable[[], Engine]]:
    """Engines on one fresh database, as many as asked for (one per "process")."""
    url = postgres_database() if request.param == "postgresql" else f"sqlite:///{tmp_path}/n.db"
    made: list[Engine] = []

    def connect() -> Engine:
        made.append(make_engine(url))
        return made[-1]

    yield connect
    for engine in made:
        engine.dispose()


def version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_a_database_made_by_the_previous_release_is_adopted_with_its_rows(
    database: Callable[[], Engine],
) -> None:
    engine = database()
    previous.create_all(engine)
    row = {
        "event_id": "11111111-1111-1111-1111-111111111111",
        "job_id": "22222222-2222-2222-2222-222222222222",
        "state": "finished",
        "url": "https://hooks.example.com/x",
        "delivered": True,
        "status_code": 204,
        "claimed_at": datetime(2026, 11, 1, 9, 0),
        "finished_at": datetime(2026, 11, 1, 9, 0, 1),
    }
    with engine.begin() as conn:
        conn.execute(old_deliveries.insert().values(row))
    upgrade(engine)
    assert version(engine) == HEAD
    with engine.connect() as conn:
        kept = conn.execute(select(old_deliveries)).mappings().all()
    assert [dict(r) for r in kept] == [{**row, "attempts": 0}]
    assert inspect(engine).has_table("webhook_deliveries")
    # The previous release, still running during the deploy, claims and finishes as it did.
    with engine.begin() as conn:
        conn.execute(
            old_deliveries.insert().values(
                event_id="33333333-3333-3333-3333-333333333333",
                job_id="44444444-4444-4444-4444-444444444444",
                state="claimed",
                claimed_at=datetime(2026, 11, 30, 9, 0),
            )
        )
        conn.execute(
            update(old_deliveries)
            .where(old_deliveries.c.event_id == "33333333-3333-3333-3333-333333333333")
            .values(state="finished", delivered=False, attempts=4)
        )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(old_deliveries)).scalar() == 2


def test_upgrading_again_changes_nothing(database: Callable[[], Engine]) -> None:
    engine = database()
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            old_deliveries.insert().values(
                event_id="55555555-5555-5555-5555-555555555555",
                job_id="66666666-6666-6666-6666-666666666666",
                state="finished",
                claimed_at=datetime(2026, 11, 30, 9, 0),
            )
        )
    upgrade(engine)
    assert version(engine) == HEAD
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(old_deliveries)).scalar() == 1


def test_notifiers_starting_together_all_migrate(database: Callable[[], Engine]) -> None:
    engines = [database() for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def migrate(engine: Engine) -> None:
        start.wait(timeout=10)
        try:
            upgrade(engine)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert version(engines[0]) == HEAD


def test_the_tables_the_code_declares_are_the_ones_the_migrations_make(
    database: Callable[[], Engine],
) -> None:
    engine = database()
    upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
