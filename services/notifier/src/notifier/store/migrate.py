"""Bring the notifier's database to the latest schema: at every start, or `notifier-migrate`.

Every notifier process migrates when it starts, so several may try at once (ECS starting tasks
together): they migrate under one lock (schema_migrations.py). Revisions after 0001 only expand
the schema (new tables, nullable or defaulted columns, indexes), so the previous release keeps
working on it while a rolling deploy replaces it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Engine

from notifier.config import Settings
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.schema_migrations import upgrade_schema

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number will do: it names the lock notifier processes migrate under.
MIGRATION_LOCK_KEY = 0x7A5C_0201


def upgrade(engine: Engine, revision: str = "head") -> None:
    upgrade_schema(engine, MIGRATIONS, revision, lock_key=MIGRATION_LOCK_KEY)


def main() -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    print(f"migrated {engine.url.render_as_string(hide_password=True)} to head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
