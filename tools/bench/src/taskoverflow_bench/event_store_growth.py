"""Whether todo-api's event store stays as fast once its events table is large: appends and feed
pages timed at each size through todo-api's own code on its database (HTTP adds the same at every
size and is measured elsewhere)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text

from taskoverflow_bench.client_timing import percentiles, timed
from taskoverflow_bench.system import Stack
from taskoverflow_events.persistence import make_engine
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo
from todo_api.store import event_store
from todo_api.store.tables import events


def event_store_scale(stack: Stack, sizes: list[int], samples: int = 1_000) -> list[dict[str, Any]]:
    """Append and feed-page latency as the events table grows (filler rows are published).

    A thousand samples each: a feed page takes about half a millisecond, so with 300 the p99
    was the third-slowest sample and one scheduler hiccup on this two-core machine moved it
    from 1 to 5 ms at either size."""
    engine = make_engine(stack.todo_db)
    app = TodoApplication(engine)
    results = []
    try:
        for size in sizes:
            with engine.begin() as conn:
                current = conn.execute(select(text("count(*)")).select_from(events)).scalar_one()
                filler = conn.execute(
                    text("SELECT coalesce(max(sequence), 0) FROM events WHERE owner = 'filler'")
                ).scalar_one()
                # Grow the table to `size`, and keep at least 1,000 filler events to page over.
                needed = max(size - current, 1_000 - filler, 0)
                if needed:
                    conn.execute(
                        text(
                            "INSERT INTO events (event_id, owner, sequence, event_type,"
                            " schema_version, occurred_at, body, published_at)"
                            " SELECT gen_random_uuid()::text, 'filler',"
                            " :start + g, 'TodoChanged', 1, now(), '{}', now()"
                            " FROM generate_series(1, :n) g"
                        ),
                        {"start": filler, "n": needed},
                    )
                    conn.execute(text("ANALYZE events"))
                total = conn.execute(select(text("count(*)")).select_from(events)).scalar_one()
            # Measure the steady state, not the bulk load's aftermath: a million new rows leave an
            # autovacuum and a checkpoint to come, and their I/O would land under the samples'
            # p99 (the 1M append p99 ranged from x0.7 to x1.8 of the 10k one across runs).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) events"))
                conn.execute(text("CHECKPOINT"))
            owner = f"scale-{uuid.uuid4().hex[:6]}"
            appends = [
                timed(lambda owner=owner: app.create(owner, CreateTodo(title="scale")))
                for _ in range(samples)
            ]
            with engine.connect() as conn:
                top = conn.execute(
                    text("SELECT max(sequence) FROM events WHERE owner = 'filler'")
                ).scalar_one()
                pages = []
                for i in range(samples):
                    after = (i * 7919) % max(top - 100, 1)
                    pages.append(
                        timed(
                            lambda after=after: event_store.owner_events(
                                conn, "filler", after=after, limit=100
                            )
                        )
                    )
            results.append(
                {
                    "events": total,
                    "append_ms": percentiles(appends),
                    "feed_page_ms": percentiles(pages),
                }
            )
            print(
                f"event store at {total} events: append p99 {results[-1]['append_ms']['p99']} ms, "
                f"feed page p99 {results[-1]['feed_page_ms']['p99']} ms",
                flush=True,
            )
    finally:
        engine.dispose()
    return results
