"""Per-owner request rates, checked before the view runs: writes (POST, PUT and DELETE on todos)
and calendar requests each have a budget per minute, per owner, shared by every web process.

A client that could lose an answer and retry, or a script gone wrong, must not be able to fill
the event store, the relay's queue or the ical-worker with one owner's requests while everyone
else waits. The budgets live in the database (store/rate_limits.py), not in a process, because
web runs as several gunicorn workers in several tasks: a count per process would let an owner
through N times over. A refused request is 429 with Retry-After, before any work is done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC

from sqlalchemy import Engine

from todo_api.application import Clock
from todo_api.store import rate_limits
from todo_api.store.fast_commit import without_waiting_for_flush

WINDOW_SECONDS = 60.0
WRITES, CALENDARS = "writes", "calendars"
# Which Flask endpoints spend which budget; every other endpoint is free.
KINDS: Mapping[str, str] = {
    "todos.create_todo": WRITES,
    "todos.update_todo": WRITES,
    "todos.delete_todo": WRITES,
    "calendar_jobs.request_calendar": CALENDARS,
}
SETTING = {WRITES: "RATE_LIMIT_WRITES_PER_MINUTE", CALENDARS: "RATE_LIMIT_CALENDARS_PER_MINUTE"}


class RateLimited(Exception):
    """429 with Retry-After: this owner has spent this minute's budget of this kind."""

    def __init__(self, kind: str, limit: int, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        what = "writes" if kind == WRITES else "calendar requests"
        super().__init__(
            f"too many {what}: {limit} a minute are allowed for each owner "
            f"({SETTING[kind]}); retry after {self.retry_after} s"
        )


class OwnerRateLimits:
    """`per_minute` maps a kind to its limit (0: none); `clock` gives naive UTC, injectable so
    tests move time instead of waiting for it."""

    def __init__(
        self,
        engine: Engine,
        per_minute: Mapping[str, int],
        clock: Clock,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self._engine = engine
        self._per_minute = dict(per_minute)
        self._clock = clock
        self._window = window_seconds

    def check(self, owner: str, endpoint: str) -> None:
        """Spend one of the owner's requests of the endpoint's kind, or raise RateLimited."""
        kind = KINDS.get(endpoint)
        limit = self._per_minute.get(kind, 0) if kind else 0
        if not kind or limit <= 0:
            return
        now = self._clock().replace(tzinfo=UTC).timestamp()
        with self._engine.begin() as conn:
            without_waiting_for_flush(conn)
            wait = rate_limits.take(conn, owner, kind, now=now, limit=limit, window=self._window)
        if wait > 0:
            raise RateLimited(kind, limit, wait)
