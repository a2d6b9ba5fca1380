"""The relay takes owners in turns, and its leader holds a lease instead of a session lock.

`ix_events_unpublished_owner` lets the relay find each owner with unpublished events, and that
owner's oldest ones, with one index probe each, however long any owner's backlog. `relay_leases`
replaces the PostgreSQL session advisory lock: a lock lives as long as its connection, and a
connection whose host vanished without closing it stays open until the server notices, which
may be never (ADR 5). A lease expires on its own.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CONCURRENTLY on PostgreSQL: a deployment's events table is large, and a plain CREATE INDEX
    # would hold up every write for as long as the build takes. It cannot run in a transaction.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_events_unpublished_owner",
            "events",
            ["owner", "sequence"],
            postgresql_where=sa.text("published_at IS NULL"),
            postgresql_concurrently=True,
            sqlite_where=sa.text("published_at IS NULL"),
        )
    op.create_table(
        "relay_leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("term", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("relay_leases")
    op.drop_index("ix_events_unpublished_owner", table_name="events")
