"""Keeps owners' live feeds current without rewriting them for every batch.

A live feed is the owner's whole calendar, so rewriting it after each batch cost a full assembly
and an S3 PUT per batch, and while writes trickle in every batch holds one or two changes: that
was most of the worker's CPU per TodoChanged. Now a batch only marks its owners, and a thread
rewrites each marked owner at most once per interval. A change reaches the feed within about one
interval; calendar apps poll it every 15 minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import structlog

log = structlog.get_logger("ical_worker.feeds")


class FeedRefresher:
    def __init__(self, refresh: Callable[[str], None], *, interval: float = 1.0) -> None:
        self._refresh = refresh
        self._interval = interval
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-refresher", daemon=True)

    def start(self) -> FeedRefresher:
        self._thread.start()
        return self

    def mark(self, owners: Iterable[str]) -> None:
        with self._lock:
            self._dirty.update(owners)

    def flush(self) -> None:
        """Rewrite every marked owner now; one that fails stays marked for the next round."""
        with self._lock:
            owners, self._dirty = sorted(self._dirty), set()
        for owner in owners:
            try:
                self._refresh(owner)
            except Exception as exc:  # noqa: BLE001 - S3 or the database away: try next round
                log.warning("live feed refresh failed; will retry", owner=owner, error=repr(exc))
                self.mark([owner])

    def stop(self) -> None:
        """Stop the thread, then write what is still marked, so a stop loses no change."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
