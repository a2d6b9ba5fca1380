"""Alembic environment: run against the connection or URL handed over by todo_api.store.migrate."""

from taskoverflow_events.schema_migrations import run_environment
from todo_api.store.tables import metadata

run_environment(metadata)
