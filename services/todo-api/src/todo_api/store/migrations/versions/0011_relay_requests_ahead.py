"""The relay sends an owner's calendar requests ahead of its unpublished changes: an index for
finding them without reading the owner's whole backlog.

Expand only (ADR 7): a new partial index, which the previous release's todo-api ignores. Built
CONCURRENTLY on PostgreSQL, as 0006, so writes go on while it is built.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UNPUBLISHED_REQUESTS = sa.text("published_at IS NULL AND event_type = 'CalendarRequested'")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_events_unpublished_requests",
            "events",
            ["owner", "sequence"],
            postgresql_where=UNPUBLISHED_REQUESTS,
            postgresql_concurrently=True,
            sqlite_where=UNPUBLISHED_REQUESTS,
        )


def downgrade() -> None:
    op.drop_index("ix_events_unpublished_requests", table_name="events")
