"""How fast the relay empties a backlog, and how long quiet owners wait behind a bulk writer.

The relay is stopped, one owner's bulk import and a few quiet owners' single events are written
(the quiet ones last, so a relay in one global order would send them after the whole bulk), and
the relay is started again: the backlog reaches it at once, as after an SNS outage. Times come
from the rows' own `published_at` (the relay's mark transaction), so polling adds nothing.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from taskoverflow_bench.system import Stack
from taskoverflow_events.persistence import make_engine
from todo_api.domain.commands import CreateTodo
from todo_api.domain.todo import decide
from todo_api.store import event_store, outbox
from todo_api.store.tables import events


def _write(engine: Engine, owner: str, count: int, first_id: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    for start in range(0, count, 500):
        ids = range(first_id + start, first_id + min(count, start + 500))
        with engine.begin() as conn:
            payloads = [
                decide(CreateTodo(title=f"bulk {i}"), None, now=now, new_id=i)[0] for i in ids
            ]
            event_store.append(conn, owner, payloads)


def measure(stack: Stack, backlog: int, quiet_owners: int, timeout: float = 300) -> dict[str, Any]:
    engine = make_engine(stack.todo_db)
    relay = stack.processes["todo-api-relay"]
    tag = uuid.uuid4().hex[:6]
    bulk, quiet = f"bulk-{tag}", [f"quiet-{tag}-{i:02d}" for i in range(quiet_owners)]
    relay.stop()
    try:
        _write(engine, bulk, backlog, first_id=10_000_000)
        for i, owner in enumerate(quiet):
            _write(engine, owner, 1, first_id=20_000_000 + i)
    finally:
        relay.start()
    owners = [bulk, *quiet]
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            if outbox.unpublished_count(conn) == 0:
                break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the relay did not publish {backlog} events in {timeout:.0f} s")
        time.sleep(0.05)
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.owner, func.min(events.c.published_at), func.max(events.c.published_at))
            .where(events.c.owner.in_(owners))
            .group_by(events.c.owner)
        ).all()
        first = min(r[1] for r in rows)
        last_quiet = max(r[2] for r in rows if r[0] != bulk)
        bulk_before_quiet = conn.execute(
            select(func.count()).where(events.c.owner == bulk, events.c.published_at < last_quiet)
        ).scalar_one()
    engine.dispose()
    spans = {r[0]: (r[1], r[2]) for r in rows}
    drain = (max(r[2] for r in rows) - first).total_seconds()
    quiet_ms = sorted(round((spans[o][1] - first).total_seconds() * 1000, 1) for o in quiet)
    return {
        "events": backlog + quiet_owners,
        "seconds": round(drain, 2),
        "events_per_second": round((backlog + quiet_owners) / max(drain, 1e-3), 1),
        "quiet_owners": quiet_owners,
        # How long after the relay's first publication each quiet owner's event went out.
        "quiet_published_after_ms": {"p50": quiet_ms[len(quiet_ms) // 2], "max": quiet_ms[-1]},
        "bulk_events_before_last_quiet_one": int(bulk_before_quiet),
    }
