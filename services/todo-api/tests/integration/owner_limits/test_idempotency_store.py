"""The idempotency store's edges, which HTTP cannot reach on demand: a claim whose request died
is taken over once stale, and the request it was taken from, if only slow, cannot record its
answer (its work rolls back with it); housekeeping sweeps expired keys and idle rate buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

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
