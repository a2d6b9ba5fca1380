"""Alembic, run the same way by every service that owns a database (todo-api, notifier).

A process hands Alembic its own connection, so IAM tokens and keepalives apply to migrations as to
everything else. Where several processes may migrate at once (every notifier migrates when it
starts, ECS starts tasks together, and todo-api's setup task may meet `todo-api-owners`), they
pass a `lock_key`: on PostgreSQL a session advisory lock lets one migrate while the others wait
and then find nothing left to do. A session lock, not a transaction one, leaves Alembic free to
commit where a migration must step out of its transaction (CREATE INDEX CONCURRENTLY), and it
goes with the connection should the process die. The others try for it rather than wait inside
the database (`_take`). On SQLite (`make run`) the whole upgrade is one BEGIN IMMEDIATE
transaction, which serialises writers already, unless a migration builds an index outside its
transaction (todo-api's do).
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, create_engine, text

from taskoverflow_events.persistence import is_postgres

# How long a migration waits for another to finish: an index built concurrently on a large
# events table takes minutes, and nothing waits without a deadline.
LOCK_WAIT_SECONDS = 900.0


def upgrade_schema(
    engine: Engine,
    migrations: Path,
    revision: str = "head",
    *,
    lock_key: int | None = None,
    sqlite_in_one_transaction: bool = True,
) -> None:
    """`sqlite_in_one_transaction=False` where a migration steps out of its transaction
    (autocommit_block), which it cannot do inside the one BEGIN IMMEDIATE."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        if lock_key is not None and is_postgres(engine):
            _upgrade_under_lock(conn, config, revision, lock_key)
        elif lock_key is not None and sqlite_in_one_transaction:
            conn.begin()  # BEGIN IMMEDIATE: Alembic runs inside it (an external transaction)
            command.upgrade(config, revision)
            conn.commit()
        else:
            # Alembic runs the transaction (run_environment), so a migration may step out of it.
            command.upgrade(config, revision)
            conn.commit()


def _upgrade_under_lock(conn: Connection, config: Config, revision: str, lock_key: int) -> None:
    lock = {"key": lock_key}
    _take(conn, lock)
    try:
        command.upgrade(config, revision)
        conn.commit()
    finally:
        conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
        conn.commit()


def _take(conn: Connection, lock: dict[str, int]) -> None:
    """Try for the lock, and between tries hold no transaction: a session blocked inside
    pg_advisory_lock keeps a snapshot open, and CREATE INDEX CONCURRENTLY (run by the lock's
    holder) waits for every snapshot to end: the two would deadlock."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), lock).scalar()
        conn.commit()  # no transaction open: Alembic begins its own
        if taken:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"another process held the migration lock for {LOCK_WAIT_SECONDS} s")
        time.sleep(0.2)


def run_environment(metadata: MetaData) -> None:
    """The body of a service's migrations/env.py: the connection upgrade_schema handed over, or
    the URL of an `alembic` command line."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, metadata)
    else:
        with create_engine(config.get_main_option("sqlalchemy.url") or "").connect() as conn:
            _run(conn, metadata)


def _run(conn: Connection, metadata: MetaData) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
