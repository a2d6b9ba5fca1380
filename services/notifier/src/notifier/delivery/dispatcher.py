"""The dispatcher: claims due webhook deliveries and hands each to a small pool of workers.

Nothing else waits on a webhook: the consumer only records deliveries, and each attempt runs on
a worker of its own, ending by its deadline. At most `concurrency` attempts run in this process,
and at most `per_owner` for one owner across every process (claims.claim_due), so a receiver
that hangs holds only its own owner's slots while everyone else's webhooks go on. Claims are
taken only for free workers, oldest due first, so a claimed delivery never waits in a local queue.

Stopping: claiming stops at once; attempts in flight end by their deadline. One cut off by the
process's end leaves its claim to expire, and another process (or this one, restarted) makes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from notifier.store import claims
from notifier.store.tables import now_utc

log = structlog.get_logger("notifier.dispatcher")


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        attempt: Callable[[claims.Claim], None],
        *,
        concurrency: int,
        per_owner: int,
        lease_seconds: float,
        poll_seconds: float = 1.0,
        max_attempts: int | None = None,
    ) -> None:
        self._max_attempts = max_attempts
        self._engine = engine
        self._attempt = attempt
        self.concurrency = concurrency
        self.per_owner = per_owner
        self._lease = timedelta(seconds=lease_seconds)
        self._poll = poll_seconds
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
        self._in_flight = 0
        self._idle = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> Dispatcher:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for due deliveries now (one was just recorded), not at the next poll."""
        self._wake.set()

    def stop_claiming(self) -> None:
        self._stopping.set()
        self._wake.set()

    def stop(self, timeout: float) -> bool:
        """Stop claiming and wait up to `timeout` s for attempts in flight; False if some are
        still running (their claims expire and they are made again elsewhere)."""
        self.stop_claiming()
        ends = time.monotonic() + timeout
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._idle:
            idle = self._idle.wait_for(
                lambda: self._in_flight == 0, timeout=max(0.0, ends - time.monotonic())
            )
        self._pool.shutdown(wait=False, cancel_futures=True)
        log.info("dispatcher stopped", attempts_left_running=self._in_flight)
        return idle

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def dispatch_once(self) -> float:
        """Claim what free workers can take and start it; returns how long to wait before
        looking again (a finished attempt or a new delivery wakes the dispatcher earlier)."""
        with self._idle:
            free = self.concurrency - self._in_flight
        now = now_utc()
        with self._engine.begin() as conn:
            claimed, next_due = claims.claim_due(
                conn,
                slots=free,
                per_owner=self.per_owner,
                lease=self._lease,
                now=now,
                max_attempts=self._max_attempts,
            )
        for claim in claimed:
            with self._idle:
                self._in_flight += 1
            self._pool.submit(self._run_attempt, claim)
        if next_due is None:
            return self._poll
        return min(self._poll, max(0.0, (next_due - now).total_seconds()))

    def _run(self) -> None:
        log.info("dispatcher started", concurrency=self.concurrency, per_owner=self.per_owner)
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                wait = self.dispatch_once()
            except Exception as exc:  # noqa: BLE001 - the database away: try again shortly
                log.warning("claiming webhook deliveries failed", error=repr(exc))
                wait = self._poll
            self._wake.wait(wait)

    def _run_attempt(self, claim: claims.Claim) -> None:
        try:
            self._attempt(claim)
        except Exception as exc:
            log.error("webhook attempt failed unexpectedly", error=repr(exc), exc_info=exc)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
            self._wake.set()
