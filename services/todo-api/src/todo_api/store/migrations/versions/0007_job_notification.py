"""A job's webhook is reported apart from its status; unfinished and old jobs are found by index.

A job is SUCCESS or FAILURE as soon as its calendar is generated or has failed; the webhook, if
one was asked for, is then `pending` until CalendarReady says it was delivered or given up on.
Expand-only (ADR 7): nullable columns, so the previous release's processes run on this schema.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_jobs") as batch:
        batch.add_column(sa.Column("notification_state", sa.String(10), nullable=True))
        batch.add_column(sa.Column("notification_attempts", sa.Integer, nullable=True))
        batch.add_column(sa.Column("notification_status_code", sa.Integer, nullable=True))
        batch.add_column(sa.Column("notification_error", sa.Text, nullable=True))
    op.create_index("ix_calendar_jobs_requested", "calendar_jobs", ["requested_at"])
    op.create_index("ix_handled_events_handled_at", "handled_events", ["handled_at"])
    op.create_index(
        "ix_calendar_jobs_unfinished",
        "calendar_jobs",
        ["requested_at"],
        postgresql_where=sa.text("finished_at IS NULL"),
        sqlite_where=sa.text("finished_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_calendar_jobs_unfinished", table_name="calendar_jobs")
    op.drop_index("ix_calendar_jobs_requested", table_name="calendar_jobs")
    op.drop_index("ix_handled_events_handled_at", table_name="handled_events")
    with op.batch_alter_table("calendar_jobs") as batch:
        for column in ("notification_error", "notification_status_code"):
            batch.drop_column(column)
        batch.drop_column("notification_attempts")
        batch.drop_column("notification_state")
