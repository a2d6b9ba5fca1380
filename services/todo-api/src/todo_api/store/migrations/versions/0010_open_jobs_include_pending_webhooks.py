"""The open-jobs cap counts a finished job whose webhook is still pending: an index for that.

Expand only (ADR 7): a new partial index, which the previous release's todo-api ignores.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_calendar_jobs_owner_notifying",
        "calendar_jobs",
        ["owner", "requested_at"],
        postgresql_where=sa.text("notification_state = 'pending'"),
        sqlite_where=sa.text("notification_state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_calendar_jobs_owner_notifying", table_name="calendar_jobs")
