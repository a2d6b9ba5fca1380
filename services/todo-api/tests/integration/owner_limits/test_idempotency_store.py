"""The idempotency store's edges, which HTTP cannot reach on demand: a claim whose request died
is taken over once stale, and the request it was taken from, if only slow, cannot record its
answer (its work rolls back with it); a slow request that answers just before the takeover keeps
its answer; housekeeping sweeps expired keys and idle rate buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Update, event, insert, select, update

from todo_api.consumer.housekeeping import purge_bookkeeping
from todo_api.store import idempotency
from todo_api.store.idempotency import Answer, Claim, KeyInFlight
from todo_api.store.tables import idempotency_keys, rate_buckets

T0 = datetime(2027, 3, 1, 9, 0, 0)
ANSWER = Answer(201, {"Content-Type": "application/json"}, '{"id":1}')


def claim_at(engine: Engine, at: datetime, fingerprint: str = "f1") -> Claim | Answer:
    with engine.begin() as conn:
        return idempotency.claim(
            conn,
            "alice",
            "k",
            fingerprint,
            now=at,
            stale_before=at - timedelta(seconds=60),
            expired_before=at - timedelta(hours=24),
        )


def test_a_claim_left_by_a_dead_request_is_taken_over_and_the_late_answer_refused(
    any_engine: Engine,
) -> None:
    first = claim_at(any_engine, T0)
    assert isinstance(first, Claim)
    with pytest.raises(KeyInFlight):
        claim_at(any_engine, T0 + timedelta(seconds=30))  # still at work, presumably
    second = claim_at(any_engine, T0 + timedelta(seconds=61))
    assert isinstance(second, Claim)
    assert second.token != first.token
    with pytest.raises(KeyInFlight), any_engine.begin() as conn:
        idempotency.record(conn, first, ANSWER)  # the slow one: its transaction rolls back
    with any_engine.begin() as conn:
        idempotency.record(conn, second, ANSWER)
    assert claim_at(any_engine, T0 + timedelta(seconds=90)) == ANSWER


def test_an_answer_written_between_the_read_and_the_takeover_is_not_wiped(
    pg_engine: Engine,
) -> None:
    """A slow first request records its answer after a retry has read its stale claim but before
    the retry takes the claim over. The retry must then get that answer, not a claim of its
    own: taking over would wipe the answer and do the work (a todo, a job) a second time.
    PostgreSQL only: SQLite's writers are serialised (BEGIN IMMEDIATE), so there the first
    request cannot write between the retry's read and its takeover."""
    first = claim_at(pg_engine, T0)
    assert isinstance(first, Claim)
    answered: list[bool] = []

    def answer_first_just_before_the_takeover(
        conn: Connection, clause: Any, *_: Any, **__: Any
    ) -> None:
        if isinstance(clause, Update) and clause.table is idempotency_keys and not answered:
            with pg_engine.begin() as other:  # the first request, on a connection of its own
                idempotency.record(other, first, ANSWER)
            answered.append(True)

    retry_at = T0 + timedelta(seconds=61)
    with pg_engine.begin() as conn:
        event.listen(conn, "before_execute", answer_first_just_before_the_takeover)
        outcome = idempotency.claim(
            conn,
            "alice",
            "k",
            "f1",
            now=retry_at,
            stale_before=retry_at - timedelta(seconds=60),
            expired_before=retry_at - timedelta(hours=24),
        )
    assert answered, "the retry never tried to take the claim over"
    assert outcome == ANSWER, "the retry took over a claim that had just been answered"
    assert claim_at(pg_engine, T0 + timedelta(seconds=90)) == ANSWER


def test_housekeeping_sweeps_expired_keys_and_idle_buckets_and_keeps_the_rest(
    pg_engine: Engine,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    epoch = now.replace(tzinfo=UTC).timestamp()
    ages = {"old": (timedelta(hours=25), 7200), "new": (timedelta(hours=23), 60)}
    for name, (age, idle_seconds) in ages.items():
        claimed = claim_at(pg_engine, now)
        assert isinstance(claimed, Claim)
        with pg_engine.begin() as conn:
            idempotency.record(conn, claimed, ANSWER)
            conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.key == "k")
                .values(key=name, created_at=now - age)
            )
            conn.execute(
                insert(rate_buckets).values(owner=name, kind="writes", tat=epoch - idle_seconds)
            )
    assert purge_bookkeeping(pg_engine, retention_days=30, idempotency_hours=24) == 2
    with pg_engine.connect() as conn:
        assert list(conn.execute(select(idempotency_keys.c.key)).scalars()) == ["new"]
        assert list(conn.execute(select(rate_buckets.c.owner)).scalars()) == ["new"]
