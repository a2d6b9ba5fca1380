"""The event store (also the outbox), owner streams, todo ids and the todos read model.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("todo_id", sa.Integer, nullable=True),
        sa.Column("correlation_id", sa.String(100), nullable=True),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("owner", "sequence", name="uq_events_owner_sequence"),
    )
    op.create_index(
        "ix_events_unpublished",
        "events",
        ["position"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_index("ix_events_owner_todo", "events", ["owner", "todo_id"])
    op.create_table(
        "streams",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "todo_ids",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "todos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("completed", sa.Boolean, nullable=False),
        sa.Column("deadline_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_todos_owner_created", "todos", ["owner", "created_at", "id"])
    op.create_index("ix_todos_owner_deadline", "todos", ["owner", "deadline_at"])


def downgrade() -> None:
    op.drop_table("todos")
    op.drop_table("todo_ids")
    op.drop_table("streams")
    op.drop_index("ix_events_owner_todo", table_name="events")
    op.drop_index("ix_events_unpublished", table_name="events")
    op.drop_table("events")
