"""The schema, shared by the code and the Alembic migrations.

`events` is the event store and the outbox at once: a unique (owner, sequence) gives each owner a
gapless, conflict-checked stream; `position` is a global insert order used only to publish in
order; `published_at IS NULL` (with a partial index) marks what the relay still owes SNS.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from taskoverflow_events.persistence import handled_events_table

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")

# The relay finds an owner's unpublished calendar requests with this very clause (store/outbox.py),
# so the query always matches the partial index below, on PostgreSQL and SQLite alike.
UNPUBLISHED_REQUESTS = text("published_at IS NULL AND event_type = 'CalendarRequested'")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("owner", String(200), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("todo_id", Integer, nullable=True),
    Column("correlation_id", String(100), nullable=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
    Column("published_at", DateTime, nullable=True),
    UniqueConstraint("owner", "sequence", name="uq_events_owner_sequence"),
    Index(
        "ix_events_unpublished",
        "position",
        postgresql_where=Column("published_at").is_(None),
        sqlite_where=Column("published_at").is_(None),
    ),
    # The relay takes owners in turns: it finds the next owner with work, and that owner's
    # oldest unpublished events, each with one probe of this index (see store/outbox.py).
    Index(
        "ix_events_unpublished_owner",
        "owner",
        "sequence",
        postgresql_where=Column("published_at").is_(None),
        sqlite_where=Column("published_at").is_(None),
    ),
    # An owner's unpublished calendar requests, which the relay sends ahead of its changes.
    Index(
        "ix_events_unpublished_requests",
        "owner",
        "sequence",
        postgresql_where=UNPUBLISHED_REQUESTS,
        sqlite_where=UNPUBLISHED_REQUESTS,
    ),
    Index("ix_events_owner_todo", "owner", "todo_id"),
)

streams = Table(
    "streams",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
)

todo_ids = Table(
    "todo_ids",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    sqlite_autoincrement=True,
)

todos = Table(
    "todos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("completed", Boolean, nullable=False),
    Column("deadline_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_todos_owner_created", "owner", "created_at", "id"),
    Index("ix_todos_owner_deadline", "owner", "deadline_at"),
)

calendar_jobs = Table(
    "calendar_jobs",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("as_of", Integer, nullable=False),
    Column("include_completed", Boolean, nullable=False),
    Column("callback_url", Text, nullable=True),
    Column("requested_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    Column("bucket", String(255), nullable=True),
    Column("key", Text, nullable=True),
    Column("error_code", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("notified", Boolean, nullable=True),
    # The webhook, reported apart from the status: pending, delivered or failed (ADR 6).
    Column("notification_state", String(10), nullable=True),
    Column("notification_attempts", Integer, nullable=True),
    Column("notification_status_code", Integer, nullable=True),
    Column("notification_error", Text, nullable=True),
    Index("ix_calendar_jobs_owner", "owner", "requested_at"),
    # The deadline sweep finds unfinished jobs without reading finished ones; retention finds
    # old ones.
    Index("ix_calendar_jobs_requested", "requested_at"),
    Index(
        "ix_calendar_jobs_unfinished",
        "requested_at",
        postgresql_where=Column("finished_at").is_(None),
        sqlite_where=Column("finished_at").is_(None),
    ),
    # The open-jobs cap counts an owner's unfinished jobs, and its finished ones whose webhook
    # is still pending, without reading the rest.
    Index(
        "ix_calendar_jobs_owner_open",
        "owner",
        postgresql_where=Column("finished_at").is_(None),
        sqlite_where=Column("finished_at").is_(None),
    ),
    Index(
        "ix_calendar_jobs_owner_notifying",
        "owner",
        "requested_at",
        postgresql_where=text("notification_state = 'pending'"),
        sqlite_where=text("notification_state = 'pending'"),
    ),
)

# Who may use the API when AUTH_MODE=token. Only SHA-256 digests of the tokens are kept: the tokens
# are 256 random bits, so a plain digest cannot be reversed and lets a lookup use the index.
owners = Table(
    "owners",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("feed_token_sha256", String(64), nullable=True, unique=True),
    Column("created_at", DateTime, nullable=False),
    # Which webhook secret signs the owner's webhooks: a number, not a secret (the secret is
    # derived from it and WEBHOOK_SIGNING_KEY, ADR 11); after a rotation the version before it
    # also signs until webhook_previous_valid_until (naive UTC).
    Column("webhook_secret_version", Integer, nullable=False, server_default="1"),
    Column("webhook_previous_valid_until", DateTime, nullable=True),
)

# Tombstones: names of removed owners. Every row of every service is keyed by the owner's name,
# so a name stays reserved once used, or a new owner of it would inherit the old one's todos,
# history, jobs, results and feed (ADR 12). The last secret version is kept with it.
removed_owners = Table(
    "removed_owners",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("removed_at", DateTime, nullable=False),
    Column("webhook_secret_version", Integer, nullable=False),
)

# Who leads the relays: a lease that its holder renews and anyone may take once it has expired.
# `expires_at` is seconds since the epoch on the database's clock, so relays on hosts whose clocks
# disagree still agree on who leads; `term` counts changes of leader (see relay/leadership.py).
relay_leases = Table(
    "relay_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("term", Integer, nullable=False),
)

# Events the consumer process has applied, claimed in the same transaction as the job update.
handled_events = handled_events_table(metadata)

# Per-owner rate limits, one row per owner and kind of request (writes, calendars), kept here so
# every web process of every task counts against the same limit. `tat` is the bucket's
# "theoretical arrival time" (GCRA; seconds since the epoch): see store/rate_limits.py.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("tat", Float, nullable=False),
    Index("ix_rate_buckets_tat", "tat"),  # for sweeping idle buckets
)

# Idempotency-Key answers, per owner: claimed (status NULL) before the work, answered in the
# work's own transaction, forgotten after IDEMPOTENCY_RETENTION_HOURS (store/idempotency.py).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("claim", String(36), nullable=False),
    Column("status", Integer, nullable=True),
    Column("headers", Text, nullable=True),
    Column("body", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_idempotency_keys_created", "created_at"),
)
