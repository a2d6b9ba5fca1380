"""Bring a database to the latest schema: `todo-api-migrate` (python -m todo_api.store.migrate).

todo-api migrates once per deploy (a one-off task before the services), not at every start, so it
needs no lock against itself."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.schema_migrations import upgrade_schema
from todo_api.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine, revision: str = "head") -> None:
    upgrade_schema(engine, MIGRATIONS, revision)


def main() -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    print(f"migrated {engine.url.render_as_string(hide_password=True)} to head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
