"""Calendar export jobs and the consumer's record of handled events.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_jobs",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("as_of", sa.Integer, nullable=False),
        sa.Column("include_completed", sa.Boolean, nullable=False),
        sa.Column("callback_url", sa.Text, nullable=True),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("bucket", sa.String(255), nullable=True),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("notified", sa.Boolean, nullable=True),
    )
    op.create_index("ix_calendar_jobs_owner", "calendar_jobs", ["owner", "requested_at"])
    op.create_table(
        "handled_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("handled_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("handled_events")
    op.drop_index("ix_calendar_jobs_owner", table_name="calendar_jobs")
    op.drop_table("calendar_jobs")
