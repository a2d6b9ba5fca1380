"""Bring a database to the latest schema: `todo-api-migrate` (python -m todo_api.store.migrate).

The setup task migrates at each release, and `todo-api-owners` migrates before it acts, so two
may meet: on PostgreSQL they take turns under a lock (schema_migrations.py). On SQLite the
migrations run as Alembic's own transactions, since 0006 and 0011 build an index outside one."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.schema_migrations import upgrade_schema
from todo_api.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number will do: it names the lock todo-api's migrations run under.
MIGRATION_LOCK_KEY = 0x7A5C_0101


def upgrade(engine: Engine, revision: str = "head") -> None:
    upgrade_schema(
        engine, MIGRATIONS, revision, lock_key=MIGRATION_LOCK_KEY, sqlite_in_one_transaction=False
    )


def main() -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    print(f"migrated {engine.url.render_as_string(hide_password=True)} to head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
