"""Alembic, run the same way by every service that owns a database (todo-api, notifier).

A process hands Alembic its own connection, so IAM tokens and keepalives apply to migrations as to
everything else. Where several processes may migrate at once (every notifier migrates when it
starts, and ECS starts tasks together), they pass a `lock_key`: on PostgreSQL a session advisory
lock lets one migrate while the others wait and then find nothing left to do. A session lock, not
a transaction one, leaves Alembic free to commit where a migration must step out of its
transaction (CREATE INDEX CONCURRENTLY), and it goes with the connection should the process die.
On SQLite (`make run`) the whole upgrade is then one BEGIN IMMEDIATE transaction, which serialises
writers already.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, create_engine, text

from taskoverflow_events.persistence import is_postgres


def upgrade_schema(
    engine: Engine, migrations: Path, revision: str = "head", *, lock_key: int | None = None
) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        if lock_key is None:
            # Alembic runs the transaction (run_environment), so a migration may step out of it.
            command.upgrade(config, revision)
            conn.commit()
        elif is_postgres(engine):
            _upgrade_under_lock(conn, config, revision, lock_key)
        else:
            conn.begin()  # BEGIN IMMEDIATE: Alembic runs inside it (an external transaction)
            command.upgrade(config, revision)
            conn.commit()


def _upgrade_under_lock(conn: Connection, config: Config, revision: str, lock_key: int) -> None:
    lock = {"key": lock_key}
    conn.execute(text("SELECT pg_advisory_lock(:key)"), lock)
    conn.commit()  # no transaction open: Alembic begins its own
    try:
        command.upgrade(config, revision)
        conn.commit()
    finally:
        conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
        conn.commit()


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
