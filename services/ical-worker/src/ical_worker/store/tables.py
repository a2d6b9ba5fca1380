"""The projection's schema. It is derived data: a change of shape gets new tables, built again
from todo-api's feed as owners' events arrive (and `ical-worker-rebuild`), so it is created with
create_all rather than migrated, and the tables of the shape before are left to the release
before (dropped by a later one)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from taskoverflow_events.persistence import create_tables

metadata = MetaData()

# How far each owner's stream has been applied (an event applies only at applied_sequence + 1),
# and from which sequence on the versions below can answer for any point of the stream (before
# it, a calendar asked of an older point is folded from todo-api's feed instead). Named anew for
# this shape of the projection: a worker of the previous release, running beside this one during
# a deploy, keeps its own tables (owners, vevents), so neither can corrupt the other (ADR 7).
owners = Table(
    "projection_owners",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("applied_sequence", Integer, nullable=False),
    Column("history_from", Integer, nullable=False),
)

# Each todo's pre-rendered VEVENT, one version per change: valid from the sequence that made it
# until the one that replaced it (NULL: current). A calendar at any sequence S the history covers
# is the versions with valid_from <= S < valid_to, so a request renders exactly the state it
# asked about even after the projection has moved on (ADR 8). Closed versions are pruned after
# VERSION_HISTORY_SECONDS (store/versions.py).
todo_versions = Table(
    "todo_versions",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("todo_id", Integer, primary_key=True),
    Column("valid_from", Integer, primary_key=True),
    Column("valid_to", Integer, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("completed", Boolean, nullable=False),
    Column("deadline_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
    Index(
        "ix_todo_versions_current",
        "owner",
        "deadline_at",
        "todo_id",
        postgresql_where=Column("valid_to").is_(None),
        sqlite_where=Column("valid_to").is_(None),
    ),
    Index("ix_todo_versions_at", "owner", "deadline_at", "todo_id", "valid_from"),
    Index("ix_todo_versions_closed_at", "closed_at"),
)

# Jobs already rendered, so a redelivered CalendarRequested republishes instead of re-rendering.
rendered_jobs = Table(
    "rendered_jobs",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("bucket", String(255), nullable=False),
    Column("key", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("render_ms", Float, nullable=False),
    Column("notify", Text, nullable=True),
    Column("rendered_at", DateTime, nullable=False),
    Index("ix_rendered_jobs_rendered_at", "rendered_at"),  # for retention
)

# Each owner's live feed (calendar_keys.feed_key): the projection's applied_sequence it should
# show (set in the transaction that changes the owner's todos) and the one the object in S3 does
# show (set by the render that wrote it). due_at is set while a render is wanted, from when;
# it is what the refresher looks up, through its index. See store/feeds.py.
feeds = Table(
    "feeds",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("wanted_sequence", Integer, nullable=False),
    Column("rendered_sequence", Integer, nullable=False),
    Column("due_at", DateTime, nullable=True),
    Column("rendered_at", DateTime, nullable=True),
    Index("ix_feeds_due_at", "due_at"),
)


def create_schema(engine: Engine) -> None:
    create_tables(engine, metadata)
