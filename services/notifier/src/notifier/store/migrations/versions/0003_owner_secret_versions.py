"""Which of the owner's webhook secrets sign each delivery (ADR 11): a version, not a secret.

Expand only: two nullable columns. The previous release's notifier, which signs with the one
shared secret and never names these columns, runs unchanged on this schema during a deploy; a
row it queued has NULL here, which this release reads as version 1.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("secret_version", sa.Integer, nullable=True))
    op.add_column(
        "webhook_deliveries",
        sa.Column("previous_secret_valid_until", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "previous_secret_valid_until")
    op.drop_column("webhook_deliveries", "secret_version")
