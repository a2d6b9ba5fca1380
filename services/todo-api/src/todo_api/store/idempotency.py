"""Idempotency keys, per owner: a POST sent again with the same key gets the first answer back
and does nothing a second time.

A key is first *claimed* (a row without an answer, committed on its own), so a second request
with the same key, arriving while the first is still at work, finds the claim and is told so
(409) rather than doing the work too. The answer is then written *in the same transaction as the
work* (see `record`): the todo or job and the answer that reports it commit together or not at
all, so no crash can leave work done without its answer, and a claim without an answer always
means nothing was done. That is what makes it safe to take over a claim whose process died (older
than `stale_before`): the new claim gets a new token, and the old process, if it was only slow,
finds its token gone when it records its answer and rolls its work back (a fencing token).

Keys are scoped per owner (the primary key is owner and key): one owner's key never answers
another. A key is kept until `expired_before` (IDEMPOTENCY_RETENTION_HOURS); after that it is as
good as new, and housekeeping deletes it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, or_, select, tuple_, update

from taskoverflow_events.persistence import dialect_insert
from todo_api.store.tables import idempotency_keys

# A claim can vanish between our insert and our look at it (its request failed and released
# it); then we try again, a few times at most.
CLAIM_ATTEMPTS = 3


@dataclass
class Claim:
    owner: str
    key: str
    token: str
    answered: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


class KeyReused(ValueError):
    """The key was first used for another request (another path or body): 422."""


class KeyInFlight(RuntimeError):
    """A request with this key is at work right now: 409; try again once it has answered."""


def claim(
    conn: Connection,
    owner: str,
    key: str,
    fingerprint: str,
    *,
    now: datetime,
    stale_before: datetime,
    expired_before: datetime,
) -> Claim | Answer:
    """Claim `key` for a request whose path and body hash to `fingerprint`, or return the answer
    the key already has. Raises KeyReused or KeyInFlight."""
    table = idempotency_keys
    for _ in range(CLAIM_ATTEMPTS):
        token = str(uuid.uuid4())
        fresh = {"fingerprint": fingerprint, "claim": token, "created_at": now}
        made = conn.execute(
            dialect_insert(conn, table)
            .values(owner=owner, key=key, **fresh)
            .on_conflict_do_nothing(index_elements=[table.c.owner, table.c.key])  # type: ignore[attr-defined]
            .returning(table.c.claim)
        ).first()
        if made is not None:
            return Claim(owner, key, token)
        row = conn.execute(select(table).where(table.c.owner == owner, table.c.key == key)).first()
        if row is None:
            continue
        expired = row.created_at < expired_before
        if not expired:
            if row.fingerprint != fingerprint:
                raise KeyReused(
                    "Idempotency-Key: this key was used with another request (a different path "
                    "or body); use a new key for a new request"
                )
            if row.status is not None:
                return Answer(row.status, json.loads(row.headers or "{}"), row.body or "")
            if row.created_at >= stale_before:
                raise KeyInFlight(
                    "Idempotency-Key: a request with this key is in progress; retry shortly"
                )
        # Expired, or claimed by a request that never answered: take it over, unless another
        # request did so first, or the first one answered after all since we read the row
        # (then look again, and find the answer). The WHERE repeats what we read, so a
        # takeover never wipes an answer written meanwhile: its work would then run twice.
        taken = conn.execute(
            update(table)
            .where(
                table.c.owner == owner,
                table.c.key == key,
                table.c.claim == row.claim,
                or_(
                    table.c.created_at < expired_before,
                    and_(table.c.status.is_(None), table.c.created_at < stale_before),
                ),
            )
            .values(status=None, headers=None, body=None, **fresh)
        )
        if taken.rowcount == 1:
            return Claim(owner, key, token)
    raise KeyInFlight("Idempotency-Key: a request with this key is in progress; retry shortly")


def record(conn: Connection, claim: Claim, answer: Answer) -> None:
    """Write the answer, in the transaction of the work it reports. Raises KeyInFlight, which
    rolls the work back, if the claim was taken over meanwhile (this request was presumed dead)."""
    table = idempotency_keys
    written = conn.execute(
        update(table)
        .where(
            table.c.owner == claim.owner,
            table.c.key == claim.key,
            table.c.claim == claim.token,
            table.c.status.is_(None),
        )
        .values(status=answer.status, headers=json.dumps(answer.headers), body=answer.body)
    )
    if written.rowcount != 1:
        raise KeyInFlight("Idempotency-Key: another request took this key over; retry shortly")
    claim.answered = True


def release(conn: Connection, claim: Claim) -> None:
    """Let the key go after a request that did nothing (refused, or failed): a retry with the
    same key then does the work, as it should."""
    table = idempotency_keys
    conn.execute(
        delete(table).where(
            table.c.owner == claim.owner,
            table.c.key == claim.key,
            table.c.claim == claim.token,
            table.c.status.is_(None),
        )
    )


def purge(conn: Connection, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` keys claimed before `before`; returns how many went."""
    table = idempotency_keys
    old = select(table.c.owner, table.c.key).where(table.c.created_at < before).limit(limit)
    result = conn.execute(delete(table).where(tuple_(table.c.owner, table.c.key).in_(old)))
    return int(result.rowcount or 0)
