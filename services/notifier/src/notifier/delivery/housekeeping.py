"""What the notifier does now and then beside delivering: publish CalendarReady events that did
not go out when their delivery ended, and forget deliveries past the retention period.

Deletion runs in small batches, a transaction each, so a large backlog never holds locks long.
Only finished and reported deliveries are deleted, and only after RETENTION_DAYS, longer than SQS
keeps a message (14 days), so a redelivered outcome still finds its delivery and sends nothing.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from notifier.delivery.reports import Reporter
from notifier.store import deliveries as previous_release
from notifier.store import webhook_deliveries as store
from notifier.store.tables import now_utc

log = structlog.get_logger("notifier.housekeeping")

PURGE_BATCH = 500


class Housekeeper:
    def __init__(
        self,
        engine: Engine,
        reporter: Reporter,
        *,
        retention_days: int,
        sweep_seconds: float = 5.0,
        sweep_grace_seconds: float = 10.0,
        purge_seconds: float = 3600.0,
    ) -> None:
        self._engine = engine
        self._reporter = reporter
        self._retention = timedelta(days=retention_days)
        self._sweep_every = sweep_seconds
        self._grace = timedelta(seconds=sweep_grace_seconds)
        self._purge_every = purge_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notifier-housekeeping", daemon=True)

    def start(self) -> Housekeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def purge(self, *, batches: int = 10) -> int:
        """Up to `batches` small deletes per table; returns how many rows went."""
        before = now_utc() - self._retention
        purged = 0
        for _ in range(batches):
            with self._engine.begin() as conn:
                done = store.purge(conn, before=before, limit=PURGE_BATCH)
                done += previous_release.purge(conn, before=before, limit=PURGE_BATCH)
            purged += done
            if done == 0:
                break
        if purged:
            log.info("old deliveries deleted", rows=purged, retention_days=self._retention.days)
        return purged

    def _run(self) -> None:
        last_purge = float("-inf")
        while not self._stop.wait(self._sweep_every):
            try:
                self._reporter.sweep(grace=self._grace)
                if time.monotonic() - last_purge >= self._purge_every:
                    self.purge()
                    last_purge = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the database or SNS away: next time
                log.warning("housekeeping failed; will try again", error=repr(exc))
