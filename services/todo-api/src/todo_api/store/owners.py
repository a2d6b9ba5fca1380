"""Owners and their tokens. A token is shown once, when made; only its SHA-256 digest is stored,
so a copy of the database lets nobody in. Two kinds: the API token (everything the owner may do)
and the feed token (read-only, for a calendar app's subscription URL, revocable on its own).

An owner's name is its identity everywhere (rows, FIFO groups, S3 keys, the events' `owner`), so
a name, once it has data or has been removed, is never given to a new owner (ADR 12): removing an
owner leaves a tombstone, and a name with history but no owner is refused as well.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from todo_api.store.tables import owners, removed_owners, streams

# An owner name ends up as an SQS MessageGroupId and in S3 keys: keep it to safe characters.
OWNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Prefixes, not secrets: they let a leaked token be recognised by secret scanners and people.
API_TOKEN_PREFIX = "tof_"  # noqa: S105
FEED_TOKEN_PREFIX = "tof_feed_"  # noqa: S105


class OwnerExists(ValueError):
    pass


class UnknownOwner(LookupError):
    pass


class NameReserved(ValueError):
    """The name belonged to an owner before: a new owner of it would inherit that one's data."""


@dataclass(frozen=True, slots=True)
class NewOwner:
    owner: str
    token: str
    feed_token: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def create(conn: Connection, owner: str, *, now: datetime) -> NewOwner:
    if not OWNER_NAME.fullmatch(owner):
        raise ValueError(
            f"owner {owner!r}: use 1-64 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit"
        )
    if conn.execute(select(owners.c.owner).where(owners.c.owner == owner)).first():
        raise OwnerExists(f"owner {owner!r} exists already")
    reserved = why_reserved(conn, owner)
    if reserved:
        raise NameReserved(reserved)
    made = NewOwner(owner, new_token(API_TOKEN_PREFIX), new_token(FEED_TOKEN_PREFIX))
    try:
        with conn.begin_nested():
            conn.execute(
                insert(owners).values(
                    owner=owner,
                    token_sha256=digest(made.token),
                    feed_token_sha256=digest(made.feed_token),
                    created_at=now,
                )
            )
    except IntegrityError:
        raise OwnerExists(f"owner {owner!r} exists already") from None
    return made


def why_reserved(conn: Connection, owner: str) -> str | None:
    """Why no new owner may take this name, or None if one may."""
    removed = conn.execute(
        select(removed_owners.c.removed_at).where(removed_owners.c.owner == owner)
    ).scalar_one_or_none()
    if removed is not None:
        return (
            f"owner {owner!r} was removed on {removed:%Y-%m-%d}; its name stays reserved so that"
            " no new owner inherits its todos, history, jobs, results or feed: choose another name"
        )
    if conn.execute(select(streams.c.owner).where(streams.c.owner == owner)).first():
        return (
            f"the name {owner!r} already has todos and history but no owner (removed before names"
            " were reserved, or written with AUTH_MODE=none); it stays reserved so that no new"
            " owner inherits them: choose another name"
        )
    return None


def by_token(conn: Connection, token: str) -> str | None:
    return conn.execute(
        select(owners.c.owner).where(owners.c.token_sha256 == digest(token))
    ).scalar_one_or_none()


def by_feed_token(conn: Connection, token: str) -> str | None:
    return conn.execute(
        select(owners.c.owner).where(owners.c.feed_token_sha256 == digest(token))
    ).scalar_one_or_none()


def _set(conn: Connection, owner: str, **values: str | None) -> None:
    changed = conn.execute(update(owners).where(owners.c.owner == owner).values(**values))
    if changed.rowcount != 1:
        raise UnknownOwner(f"no owner {owner!r}")


def rotate_token(conn: Connection, owner: str) -> str:
    token = new_token(API_TOKEN_PREFIX)
    _set(conn, owner, token_sha256=digest(token))
    return token


def rotate_feed_token(conn: Connection, owner: str) -> str:
    token = new_token(FEED_TOKEN_PREFIX)
    _set(conn, owner, feed_token_sha256=digest(token))
    return token


def revoke_feed_token(conn: Connection, owner: str) -> None:
    _set(conn, owner, feed_token_sha256=None)


def remove(conn: Connection, owner: str, *, now: datetime) -> None:
    """Take an owner's access away (every token stops working at once) and keep its name as a
    tombstone. Their events stay, as the store is append-only, and nobody can reach them: every
    lookup is by owner, and no one can become this owner again."""
    gone = conn.execute(
        delete(owners).where(owners.c.owner == owner).returning(owners.c.webhook_secret_version)
    ).first()
    if gone is None:
        raise UnknownOwner(f"no owner {owner!r}")
    conn.execute(
        insert(removed_owners).values(
            owner=owner, removed_at=now, webhook_secret_version=gone.webhook_secret_version
        )
    )


def names(conn: Connection) -> list[str]:
    return list(conn.execute(select(owners.c.owner).order_by(owners.c.owner)).scalars())
