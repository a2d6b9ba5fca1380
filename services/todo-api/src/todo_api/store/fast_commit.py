"""Bookkeeping whose loss in a crash costs nothing need not wait for the disk.

A rate-limit bucket and an idempotency claim are each committed in a transaction of their own
before a write's real work, so a synchronous commit would add a second (or third) WAL flush to
every write, which on PostgreSQL is most of what a small write costs. Neither needs it: a bucket
lost in a crash only forgets a few requests, and a lost claim can only belong to work that was
never committed either (the work's own commit flushes the WAL written before it, claim
included). `SET LOCAL` holds for this transaction only; SQLite has nothing to relax.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def without_waiting_for_flush(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit = off"))
