"""Alembic environment: run against the connection handed over by notifier.store.migrate."""

from alembic import context
from notifier.store.tables import metadata
from sqlalchemy import create_engine

config = context.config
connection = config.attributes.get("connection")


def run(conn: object) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        run(conn)
