"""Owners get a webhook secret version (ADR 11), and a removed owner's name is kept (ADR 12).

Expand only (ADR 7): a column with a default, a nullable column and a new table, so the previous
release's todo-api runs on this schema. An owner who exists when this runs is at version 1 of
its secret, which no one has been shown: `todo-api-owners rotate-webhook-secret` shows version 2.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        batch.add_column(
            sa.Column("webhook_secret_version", sa.Integer, nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("webhook_previous_valid_until", sa.DateTime, nullable=True))
    op.create_table(
        "removed_owners",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("removed_at", sa.DateTime, nullable=False),
        sa.Column("webhook_secret_version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("removed_owners")
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("webhook_previous_valid_until")
        batch.drop_column("webhook_secret_version")
