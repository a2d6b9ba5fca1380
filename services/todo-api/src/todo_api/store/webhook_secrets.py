"""Which version of its webhook secret an owner is at, and rotating it (ADR 11).

Only the version is stored: the secret itself is derived from it and WEBHOOK_SIGNING_KEY by
whoever holds the key (the owners CLI, to show it once; the notifier, to sign), so a copy of this
database holds no secret. A rotation moves to the next version and lets the one before it go on
signing for a grace period, so a receiver can switch without missing a delivery. A calendar
request carries the owner's versions, read in its own transaction, to the notifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update

from taskoverflow_events.schemas.calendar_requested import WebhookSigningV1
from todo_api.store.owners import UnknownOwner
from todo_api.store.tables import owners


@dataclass(frozen=True, slots=True)
class Rotated:
    owner: str
    version: int
    previous_valid_until: datetime | None  # naive UTC; None: the previous one stopped at once


def signing(conn: Connection, owner: str) -> WebhookSigningV1:
    """What a calendar request of `owner` carries: version 1 for an owner without a row (the
    single owner of AUTH_MODE=none), whose secret is never rotated."""
    row = conn.execute(
        select(owners.c.webhook_secret_version, owners.c.webhook_previous_valid_until).where(
            owners.c.owner == owner
        )
    ).first()
    if row is None:
        return WebhookSigningV1()
    until = row.webhook_previous_valid_until
    return WebhookSigningV1(
        secret_version=row.webhook_secret_version,
        previous_valid_until=None if until is None else until.replace(tzinfo=UTC),
    )


def version(conn: Connection, owner: str) -> int:
    found = conn.execute(
        select(owners.c.webhook_secret_version).where(owners.c.owner == owner)
    ).scalar_one_or_none()
    if found is None:
        raise UnknownOwner(f"no owner {owner!r}")
    return int(found)


def rotate(conn: Connection, owner: str, *, now: datetime, grace: timedelta) -> Rotated:
    """Move `owner` to its next secret version; the current one signs too until now + grace
    (a zero grace stops it at once: a leaked secret). A second rotation within the grace ends
    the oldest version's at once, as only the version just before the current one signs."""
    current = conn.execute(
        select(owners.c.webhook_secret_version).where(owners.c.owner == owner).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise UnknownOwner(f"no owner {owner!r}")
    # Whole seconds: it is shown to the operator and travels in events.
    until = now.replace(microsecond=0) + grace if grace > timedelta(0) else None
    conn.execute(
        update(owners)
        .where(owners.c.owner == owner)
        .values(webhook_secret_version=current + 1, webhook_previous_valid_until=until)
    )
    return Rotated(owner, current + 1, until)
