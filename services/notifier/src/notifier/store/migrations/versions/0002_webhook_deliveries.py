"""The durable webhook queue: deliveries claimed under a lease, attempted on a schedule.

Expand only: a new table and its indexes. The previous release's notifier, which sends webhooks
inline and logs them in `deliveries`, runs unchanged on this schema during a rolling deploy.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")
UNREPORTED = sa.text("state <> 'pending' AND reported_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("bucket", sa.Text, nullable=True),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("calendar_error", sa.Text, nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("claim_token", sa.String(36), nullable=True),
        sa.Column("claimed_until", sa.DateTime, nullable=True),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("reported_at", sa.DateTime, nullable=True),
    )
    # Partial indexes: pending and unreported rows are few, finished ones pile up until retention.
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_webhook_deliveries_in_flight",
        "webhook_deliveries",
        ["owner", "claimed_until"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_webhook_deliveries_unreported",
        "webhook_deliveries",
        ["finished_at"],
        postgresql_where=UNREPORTED,
        sqlite_where=UNREPORTED,
    )
    op.create_index("ix_webhook_deliveries_finished_at", "webhook_deliveries", ["finished_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
