"""Alembic environment: run against the connection handed over by notifier.store.migrate."""

from notifier.store.tables import metadata

from taskoverflow_events.schema_migrations import run_environment

run_environment(metadata)
