"""Bring the notifier's database to the latest schema: at every start, or `notifier-migrate`.

Every notifier process migrates when it starts, so several may try at once (ECS starting tasks
together). On PostgreSQL a session advisory lock lets one migrate while the others wait, then
find nothing left to do; a session lock (not a transaction one) leaves Alembic free to commit
where a migration needs it (CREATE INDEX CONCURRENTLY), and it goes with the connection should
the process die. On SQLite (`make run`) the whole upgrade is one BEGIN IMMEDIATE transaction,
which serialises writers already.

Revisions after 0001 only expand the schema (new tables, nullable or defaulted columns, indexes),
so the previous release keeps working on it while a rolling deploy replaces it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from notifier.config import Settings
from taskoverflow_events.persistence import is_postgres, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number will do: it names the lock notifier processes migrate under.
MIGRATION_LOCK_KEY = 0x7A5C_0201


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        if is_postgres(engine):
            _upgrade_under_lock(conn, config, revision)
        else:
            conn.begin()  # BEGIN IMMEDIATE: Alembic runs inside it (an external transaction)
            command.upgrade(config, revision)
            conn.commit()


def _upgrade_under_lock(conn: Connection, config: Config, revision: str) -> None:
    lock = {"key": MIGRATION_LOCK_KEY}
    conn.execute(text("SELECT pg_advisory_lock(:key)"), lock)
    conn.commit()  # no transaction open: Alembic begins its own
    try:
        command.upgrade(config, revision)
        conn.commit()
    finally:
        conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
        conn.commit()


def main() -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    print(f"migrated {engine.url.render_as_string(hide_password=True)} to head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
