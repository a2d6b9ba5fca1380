"""Hearing PostgreSQL notifications (see migration 0004) so that waiting costs nothing.

The relay waits for `outbox` instead of polling the events table, and a status long-poll waits
for `calendar_jobs` (a job finished; migration 0005) instead of polling the job's row. A
notification is only a hint to look again: whoever waits still re-reads the table now and then,
so a lost connection (PostgreSQL restarted) or a notification sent before LISTEN only delays an
answer, never loses one.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Engine

from taskoverflow_events.persistence import is_postgres

log = structlog.get_logger("todo_api.notifications")

OUTBOX_CHANNEL = "outbox"
CALENDAR_JOBS_CHANNEL = "calendar_jobs"


@dataclass(frozen=True, slots=True)
class Heard:
    payloads: tuple[str, ...]
    # True when notifications may have been missed (just connected, or the connection failed):
    # whoever waits should re-read what it watches.
    resync: bool


class ChannelListener:
    """LISTEN on one channel over a connection of its own, outside the engine's pool."""

    def __init__(self, engine: Engine, channel: str, *, retry_seconds: float = 1.0) -> None:
        if not is_postgres(engine):
            raise ValueError("notifications need PostgreSQL")
        self._engine = engine
        self._channel = channel
        self._retry = retry_seconds
        self._conn: Any = None  # the psycopg2 connection

    def wait(self, timeout: float) -> Heard:
        """What arrives within `timeout` seconds. Never raises: a failure is a resync."""
        try:
            if self._conn is None:
                self._connect()
                return Heard((), resync=True)
            readable, _, _ = select.select([self._conn], [], [], timeout)
            if readable:
                self._conn.poll()
            payloads = tuple(n.payload for n in self._conn.notifies)
            self._conn.notifies.clear()
            return Heard(payloads, resync=False)
        except Exception as exc:  # noqa: BLE001 - PostgreSQL away: callers fall back to re-reading
            log.warning("listening failed; will reconnect", channel=self._channel, error=repr(exc))
            self.close()
            time.sleep(min(timeout, self._retry))
            return Heard((), resync=True)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                self._conn.close()
            self._conn = None

    def _connect(self) -> None:
        pooled = self._engine.raw_connection()
        conn = pooled.driver_connection
        pooled.detach()  # a LISTENing connection must never go back to the pool
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'LISTEN "{self._channel}"')
        self._conn = conn


class JobWatch:
    """Lets many request threads wait for their calendar jobs to finish, with one listener thread
    per process woken by the `calendar_jobs` channel. Without PostgreSQL it only paces polling."""

    POLL_SECONDS = 0.05  # SQLite: how often a waiting request re-reads its job
    IDLE_SECONDS = 30.0  # the listener thread (and its connection) outlives its last waiter so long

    def __init__(self, engine: Engine, *, recheck_seconds: float = 1.0) -> None:
        self._engine = engine
        self.recheck_seconds = recheck_seconds if is_postgres(engine) else self.POLL_SECONDS
        self._lock = threading.Lock()
        self._waiting: defaultdict[str, set[threading.Event]] = defaultdict(set)
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, job_id: str) -> Iterator[threading.Event]:
        """An event set whenever `job_id` may have finished. Enter before reading the job, so a
        change between the read and the wait still wakes the waiter."""
        changed = threading.Event()
        with self._lock:
            self._waiting[job_id].add(changed)
            if self._thread is None and is_postgres(self._engine):
                # Started in the process that serves requests (after gunicorn's fork), and only
                # while someone waits: it stops after IDLE_SECONDS without a waiter.
                self._thread = threading.Thread(
                    target=self._listen, name="calendar-job-watch", daemon=True
                )
                self._thread.start()
        try:
            yield changed
        finally:
            with self._lock:
                self._waiting[job_id].discard(changed)
                if not self._waiting[job_id]:
                    del self._waiting[job_id]

    def _listen(self) -> None:
        listener = ChannelListener(self._engine, CALENDAR_JOBS_CHANNEL)
        idle_since = time.monotonic()
        try:
            while True:
                heard = listener.wait(self.recheck_seconds)
                with self._lock:
                    if self._waiting:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > self.IDLE_SECONDS:
                        self._thread = None  # the next waiter starts a new one
                        return
                    if heard.resync:
                        woken = [e for events in self._waiting.values() for e in events]
                    else:
                        woken = [e for job in heard.payloads for e in self._waiting.get(job, ())]
                for event in woken:
                    event.set()
        finally:
            listener.close()
