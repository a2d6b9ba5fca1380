"""Which state of the projection each owner's live feed shows, kept in the worker's database.

The need to rewrite a feed is recorded (`want`) in the transaction that changes the owner's
todos, so no crash between a change and its render can leave the feed stale for good: the
refresher finds every feed still due, at start-up as on any other round. A render records the
sequence it wrote (`record`); a feed whose object went missing is marked due again (`mark_missing`).

Renders of one owner are serialised (`lock`), and each reads the projection only after the one
before it has recorded what it wrote; a render skips when the feed already shows what it would
write. So a slow render of an older state can never finish after, and overwrite, a newer one.
The lock is a PostgreSQL advisory lock rather than the feed's row, because the projection writes
that row: a render waiting on S3 must not hold up the consumer applying the owner's next change.
On SQLite (`make run`), BEGIN IMMEDIATE already serialises every writing transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, or_, select, text, update

from ical_worker.store.tables import feeds, owners
from taskoverflow_events.persistence import dialect_insert

# How long a render waits for another render of the same owner: longer than an upload that is
# not stuck takes (each S3 call reads for at most 30 s, twice), so a wait that ends is a fault.
LOCK_WAIT = "120s"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def want(conn: Connection, owner: str, sequence: int, *, todos_changed: bool) -> None:
    """The owner's feed should show the projection at `sequence`; call it in the transaction
    that moves the projection there. When only calendar requests moved it, the feed's content
    is unchanged and nothing is wanted, unless the owner has no feed yet: then it gets one (an
    empty calendar), since todo-api answers 503 for an owner who wrote anything and has none."""
    if sequence <= 0:
        return
    insert = dialect_insert(conn, feeds).values(
        owner=owner, wanted_sequence=sequence, rendered_sequence=0, due_at=utcnow()
    )
    if todos_changed:
        stmt = insert.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["owner"],
            set_={
                "wanted_sequence": insert.excluded.wanted_sequence,  # type: ignore[attr-defined]
                "due_at": func.coalesce(feeds.c.due_at, insert.excluded.due_at),  # type: ignore[attr-defined]
            },
        )
    else:
        stmt = insert.on_conflict_do_nothing(index_elements=["owner"])  # type: ignore[attr-defined]
    conn.execute(stmt)


def lock(conn: Connection, owner: str, *, wait: bool) -> bool:
    """Hold the owner's render lock until the transaction ends; False if `wait` is off and
    another render holds it."""
    if conn.dialect.name != "postgresql":
        return True
    key = int.from_bytes(hashlib.sha256(b"feed:" + owner.encode()).digest()[:8], "big", signed=True)
    if not wait:
        return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    return True


def rendered_and_applied(conn: Connection, owner: str) -> tuple[int, int]:
    """What the feed shows, then where the projection is. Read in this order and before the
    todos, so what a render uploads is at least as new as the sequence it records."""
    rendered = conn.execute(select(feeds.c.rendered_sequence).where(feeds.c.owner == owner))
    applied = conn.execute(select(owners.c.applied_sequence).where(owners.c.owner == owner))
    return int(rendered.scalar() or 0), int(applied.scalar() or 0)


def record(conn: Connection, owner: str, sequence: int) -> None:
    """The feed's object now shows the projection at `sequence`; it stays due only if a change
    committed after the render read the projection."""
    insert = dialect_insert(conn, feeds).values(
        owner=owner, wanted_sequence=sequence, rendered_sequence=sequence, rendered_at=utcnow()
    )
    conn.execute(
        insert.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["owner"],
            set_={
                "rendered_sequence": sequence,
                "rendered_at": insert.excluded.rendered_at,  # type: ignore[attr-defined]
            },
        )
    )
    settle(conn, owner)


def settle(conn: Connection, owner: str) -> None:
    """No longer due, if the feed shows all that is wanted."""
    conn.execute(
        update(feeds)
        .where(feeds.c.owner == owner, feeds.c.wanted_sequence <= feeds.c.rendered_sequence)
        .values(due_at=None)
    )


def due(conn: Connection, *, limit: int, throttle_seconds: float) -> list[str]:
    """Owners whose feed is due, longest waiting first, skipping those rendered less than
    `throttle_seconds` ago (their turn comes on a later round)."""
    now = utcnow()
    stmt = select(feeds.c.owner).where(feeds.c.due_at <= now)
    if throttle_seconds > 0:
        since = now - timedelta(seconds=throttle_seconds)
        stmt = stmt.where(or_(feeds.c.rendered_at.is_(None), feeds.c.rendered_at <= since))
    return list(conn.execute(stmt.order_by(feeds.c.due_at).limit(limit)).scalars())


def postpone(conn: Connection, owner: str, seconds: float) -> None:
    """A render failed (S3 or the database away): try this owner again later, not every round."""
    conn.execute(
        update(feeds)
        .where(feeds.c.owner == owner, feeds.c.due_at.is_not(None))
        .values(due_at=utcnow() + timedelta(seconds=seconds))
    )


def mark_missing(conn: Connection, missing: Iterable[tuple[str, int]]) -> None:
    """These owners' (owner, applied_sequence) feed objects are gone: the feeds show nothing
    and are due now, past any throttle."""
    rows = [
        {
            "owner": owner,
            "wanted_sequence": applied,
            "rendered_sequence": 0,
            "due_at": utcnow(),
            "rendered_at": None,
        }
        for owner, applied in missing
    ]
    if not rows:
        return
    insert = dialect_insert(conn, feeds)
    excluded = insert.excluded  # type: ignore[attr-defined]
    conn.execute(
        insert.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["owner"],
            set_={
                # Even if a change moved the projection on since the sweep read it: the feed is
                # due, and a render always shows the projection as it is when it renders.
                "wanted_sequence": excluded.wanted_sequence,
                "rendered_sequence": 0,
                "due_at": excluded.due_at,
                "rendered_at": None,
            },
        ),
        rows,
    )
