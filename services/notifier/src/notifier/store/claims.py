"""Claiming a due webhook attempt under a lease, and settling it.

A claim is committed before the attempt and settled after it, only by the claim's own token, so
two processes never make the same attempt at once, and a crashed process's claim simply expires
and the attempt is made again, with the same delivery id (at least once). Claims are counted per
owner across processes, so one owner's stuck receiver holds at most `per_owner` attempts
whichever processes make them. Due rows are ranked per owner on each claim (finished ones are
not scanned: the partial index): a claim costs in proportion to the deliveries due at that
moment, which a receiver that fails for long can make large; the rank is per owner, so such a
backlog still takes only its owner's slots.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, or_, select, text, update

from notifier.store.tables import FAILED, PENDING
from notifier.store.tables import webhook_deliveries as table

# Names the lock PostgreSQL claims are made under: counting an owner's attempts in flight and
# claiming more is one step across processes, or two could each take the owner's last slot.
CLAIM_LOCK_KEY = 0x7A5C_0202


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt this process may make until `until`."""

    delivery_id: str
    token: str
    owner: str
    job_id: str
    url: str
    event_type: str
    body: str
    attempts: int  # this one included
    until: datetime
    # Which of the owner's webhook secrets sign (ADR 11); NULL from the release before: 1.
    secret_version: int | None = None
    previous_secret_valid_until: datetime | None = None


CLAIMED_COLUMNS = (
    "delivery_id",
    "owner",
    "job_id",
    "url",
    "event_type",
    "body",
    "attempts",
    "secret_version",
    "previous_secret_valid_until",
)


def claim_due(
    conn: Connection,
    *,
    slots: int,
    per_owner: int,
    lease: timedelta,
    now: datetime,
    max_attempts: int | None = None,
) -> tuple[list[Claim], datetime | None]:
    """Claim up to `slots` due deliveries, oldest due first, leaving every owner at most
    `per_owner` attempts in flight; also returns when the next not-yet-due one falls due.
    A delivery whose claims have used up `max_attempts` without settling (each attempt ended
    unexpectedly, or its process died) is ended as failed here, so it cannot go on for ever."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
    pending = table.c.state == PENDING
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now)
    if max_attempts is not None:
        conn.execute(
            update(table)
            .where(pending, free, table.c.attempts >= max_attempts)
            .values(
                state=FAILED,
                last_error="every attempt ended without an answer being recorded",
                claim_token=None,
                claimed_until=None,
                finished_at=now,
            )
        )
    claims: list[Claim] = []
    if slots > 0:
        in_flight = (
            select(table.c.owner, func.count().label("n"))
            .where(pending, table.c.claimed_until > now)
            .group_by(table.c.owner)
            .subquery()
        )
        place = func.row_number().over(
            partition_by=table.c.owner, order_by=(table.c.next_attempt_at, table.c.delivery_id)
        )
        due = (
            select(table.c.delivery_id, table.c.owner, table.c.next_attempt_at, place.label("n"))
            .where(pending, free, table.c.next_attempt_at <= now)
            .subquery()
        )
        chosen = (
            select(due.c.delivery_id)
            .select_from(due.outerjoin(in_flight, in_flight.c.owner == due.c.owner))
            .where(due.c.n + func.coalesce(in_flight.c.n, 0) <= per_owner)
            .order_by(due.c.next_attempt_at, due.c.delivery_id)
            .limit(slots)
        )
        ids = list(conn.execute(chosen).scalars())
        if ids:
            token, until = str(uuid.uuid4()), now + lease
            rows = conn.execute(
                update(table)
                .where(table.c.delivery_id.in_(ids), pending, free)
                .values(claim_token=token, claimed_until=until, attempts=table.c.attempts + 1)
                .returning(*(table.c[name] for name in CLAIMED_COLUMNS))
            ).all()
            by_id = {r.delivery_id: r._mapping for r in rows}
            claims = [Claim(token=token, until=until, **by_id[i]) for i in ids if i in by_id]
    next_due = conn.execute(
        select(func.min(table.c.next_attempt_at)).where(
            pending, free, table.c.next_attempt_at > now
        )
    ).scalar()
    return claims, next_due


def settle(
    conn: Connection,
    claim: Claim,
    *,
    state: str,
    status_code: int | None,
    error: str | None,
    retry_at: datetime | None,
    sent: bool,
    now: datetime,
) -> bool:
    """Record an attempt's fate: `state` PENDING again (due at `retry_at`) or final. False when
    the claim was lost meanwhile (it expired and another process took it): nothing changes.
    An attempt that was not `sent` (refused before connecting) is not counted."""
    final = state != PENDING
    changed = conn.execute(
        update(table)
        .where(
            table.c.delivery_id == claim.delivery_id,
            table.c.claim_token == claim.token,
            table.c.state == PENDING,
        )
        .values(
            state=state,
            status_code=status_code,
            last_error=error,
            attempts=table.c.attempts - (0 if sent else 1),
            next_attempt_at=retry_at if retry_at is not None else table.c.next_attempt_at,
            claim_token=None,
            claimed_until=None,
            finished_at=now if final else None,
        )
    ).rowcount
    return bool(changed)
