"""Bring a database to the latest schema: `todo-api-migrate` (python -m todo_api.store.migrate)."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from todo_api.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic runs the transaction (env.py), so a migration may step out of it where PostgreSQL
    # requires (CREATE INDEX CONCURRENTLY).
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def main() -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    print(f"migrated {engine.url.render_as_string(hide_password=True)} to head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
