"""Several processes creating their tables at once on an empty database, as two workers of one
service do when they start together. Without the lock the losers' CREATE TABLE fails."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Index, Integer, MetaData, String, Table, inspect

from taskoverflow_events.persistence import create_tables, make_engine

STARTERS = 8


def _schema() -> MetaData:
    metadata = MetaData()
    for name in ("owners", "vevents", "rendered_jobs", "handled_events"):
        table = Table(
            name, metadata, Column("id", Integer, primary_key=True), Column("owner", String(50))
        )
        Index(f"ix_{name}_owner", table.c.owner)
    return metadata


def _start_together(url: str) -> list[Exception]:
    """STARTERS engines (one each, like separate processes) call create_tables at one moment."""
    engines = [make_engine(url) for _ in range(STARTERS)]
    for engine in engines:
        engine.connect().close()  # connected beforehand, so they reach the DDL together
    barrier = threading.Barrier(STARTERS)
    failures: list[Exception] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            create_tables(engine, _schema())
        except Exception as exc:  # collected: the test asserts there were none
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [t for t in threads if t.is_alive()], "a start hung on the schema lock"
    for engine in engines:
        engine.dispose()
    return failures


@pytest.mark.parametrize("round_", range(3))
def test_processes_starting_together_on_empty_postgresql_all_get_the_schema(
    postgres_database: Callable[[], str], round_: int
) -> None:
    url = postgres_database()
    assert _start_together(url) == []
    engine = make_engine(url)
    inspector = inspect(engine)
    assert sorted(inspector.get_table_names()) == [
        "handled_events",
        "owners",
        "rendered_jobs",
        "vevents",
    ]
    assert [i["name"] for i in inspector.get_indexes("vevents")] == ["ix_vevents_owner"]
    engine.dispose()


def test_processes_starting_together_on_a_new_sqlite_file_all_get_the_schema(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert _start_together(url) == []
    engine = make_engine(url)
    assert len(inspect(engine).get_table_names()) == 4
    engine.dispose()


def test_a_second_start_finds_the_schema_and_keeps_its_rows(
    postgres_database: Callable[[], str],
) -> None:
    url = postgres_database()
    engine = make_engine(url)
    metadata = _schema()
    create_tables(engine, metadata)
    with engine.begin() as conn:
        conn.execute(metadata.tables["owners"].insert(), {"id": 1, "owner": "ada"})
    create_tables(engine, _schema())
    with engine.connect() as conn:
        assert conn.execute(metadata.tables["owners"].select()).all() == [(1, "ada")]
    engine.dispose()
