"""The projection's schema. It is derived data: a schema change is a drop and a rebuild from
the feed (`ical-worker-rebuild`), so it is created with create_all rather than migrated."""

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

# How far each owner's stream has been applied: an event applies only at applied_sequence + 1.
owners = Table(
    "owners",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("applied_sequence", Integer, nullable=False),
)

# One pre-rendered VEVENT per todo that has a deadline.
vevents = Table(
    "vevents",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("todo_id", Integer, primary_key=True),
    Column("completed", Boolean, nullable=False),
    Column("deadline_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_vevents_owner_deadline", "owner", "deadline_at", "todo_id"),
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
)


def create_schema(engine: Engine) -> None:
    create_tables(engine, metadata)
