"""Per-owner rate limits kept in the database, so they hold across web processes and tasks.

Each (owner, kind) has one row, updated by one atomic upsert: the generic cell rate algorithm
(GCRA), a token bucket stored as a single number. `tat`, the "theoretical arrival time", is when
the bucket would be full again. A request is allowed if, after adding its share of the window
(`interval` = window / limit), `tat` is at most one window ahead of now; then `tat` moves on. A
refused request changes nothing, so a client hammering at its limit does not push its own
recovery further away. Only the owner's own row is locked, so one owner at its limit waits for
nothing of another's, and another owner's request never waits for it.

Why a single statement: INSERT … ON CONFLICT DO UPDATE … WHERE is atomic on PostgreSQL (the row
is locked for the update) and on SQLite (one writer at a time), and it returns the row only when
the update was made, which is exactly "allowed".
"""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, literal, select, tuple_

from taskoverflow_events.persistence import dialect_insert
from todo_api.store.tables import rate_buckets


def take(
    conn: Connection, owner: str, kind: str, *, now: float, limit: int, window: float
) -> float:
    """Spend one request of `limit` per `window` seconds for (owner, kind) at time `now`
    (seconds since the epoch). Returns 0 when allowed, else the seconds until one would be."""
    interval = window / limit
    # Half an interval of slack: tat moves in whole intervals, and float sums of them must not
    # refuse the limit-th request of a burst over a rounding error.
    allowance = window + interval / 2
    start = case((rate_buckets.c.tat > now, rate_buckets.c.tat), else_=literal(now))
    stmt = (
        dialect_insert(conn, rate_buckets)
        .values(owner=owner, kind=kind, tat=now + interval)
        .on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[rate_buckets.c.owner, rate_buckets.c.kind],
            set_={"tat": start + interval},
            where=start + interval - now <= allowance,
        )
        .returning(rate_buckets.c.tat)
    )
    if conn.execute(stmt).first() is not None:
        return 0.0
    tat = conn.execute(
        select(rate_buckets.c.tat).where(rate_buckets.c.owner == owner, rate_buckets.c.kind == kind)
    ).scalar_one()
    return max(0.001, float(tat) + interval - allowance - now)


def purge_idle(conn: Connection, *, full_before: float, limit: int) -> int:
    """Delete up to `limit` buckets that were full again before `full_before`: a missing row
    means a full bucket, so this changes no answer; it only keeps the table to active owners."""
    idle = (
        select(rate_buckets.c.owner, rate_buckets.c.kind)
        .where(rate_buckets.c.tat < full_before)
        .limit(limit)
    )
    doomed = tuple_(rate_buckets.c.owner, rate_buckets.c.kind).in_(idle)
    return int(conn.execute(delete(rate_buckets).where(doomed)).rowcount or 0)
