"""The notifier's tables, as the migrations leave them (a test compares the two).

`deliveries` is the previous release's delivery log (one row per outcome, the webhook sent inline
by the consumer). It stays, unchanged, while a release that used it may still run beside this
one (a rolling deploy); this release only reads it, to skip outcomes that release finished, and
deletes its old rows.

`webhook_deliveries` is the durable webhook queue: one row per outcome that asked for a webhook,
keyed by that outcome's event_id, which is also the delivery id a receiver sees on every attempt.
`secret_version` and `previous_secret_valid_until` say which of the owner's secrets sign it (the
outcome's `signing`; no secret is stored): read at each attempt, so a rotation's grace that ends
between two attempts ends for the second. NULL (a row of the release before) means version 1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def now_utc() -> datetime:
    """Naive UTC, as every timestamp in this database is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("state", String(10), nullable=False),
    Column("url", Text, nullable=True),
    Column("delivered", Boolean, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("claimed_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
)

_pending = text("state = 'pending'")
_unreported = text("state <> 'pending' AND reported_at IS NULL")

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("body", Text, nullable=False),  # the JSON that is signed and sent, byte for byte
    # What CalendarReady v1 repeats about the calendar itself.
    Column("outcome", String(10), nullable=False),
    Column("bucket", Text, nullable=True),
    Column("key", Text, nullable=True),
    Column("calendar_error", Text, nullable=True),  # ErrorV1 as JSON
    Column("secret_version", Integer, nullable=True),
    Column("previous_secret_valid_until", DateTime, nullable=True),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claim_token", String(36), nullable=True),
    Column("claimed_until", DateTime, nullable=True),
    Column("status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("reported_at", DateTime, nullable=True),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where=_pending,
        sqlite_where=_pending,
    ),
    Index(
        "ix_webhook_deliveries_in_flight",
        "owner",
        "claimed_until",
        postgresql_where=_pending,
        sqlite_where=_pending,
    ),
    Index(
        "ix_webhook_deliveries_unreported",
        "finished_at",
        postgresql_where=_unreported,
        sqlite_where=_unreported,
    ),
    Index("ix_webhook_deliveries_finished_at", "finished_at"),
)
