"""The setup task migrates todo-api's database at each release, and `todo-api-owners` migrates
before it acts: two may meet on one database. On PostgreSQL they take turns under a lock; without
it both create the same tables at once and one fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from alembic.migration import MigrationContext
from sqlalchemy import Engine

from taskoverflow_events.persistence import make_engine
from todo_api.store.migrate import upgrade


def test_migrations_started_together_on_one_database_all_succeed(
    postgres_database: Callable[[], str],
) -> None:
    url = postgres_database()
    engines = [make_engine(url) for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def migrate(engine: Engine) -> None:
        start.wait(timeout=10)
        try:
            upgrade(engine)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60  # all of them, not each: without the lock they can hang
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    with engines[0].connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None
    for engine in engines:
        engine.dispose()
