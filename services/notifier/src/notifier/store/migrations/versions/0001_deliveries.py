"""The delivery log the notifier made with create_all before it had migrations.

A database from then already has the table but no alembic_version: this revision adopts it as it
is (creating the table only where it is missing), so that every later revision starts from the
same schema.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("deliveries"):
        return
    op.create_table(
        "deliveries",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("delivered", sa.Boolean, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("claimed_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
