"""Keeps owners' live feeds current, durable across crashes, and never older than they were.

A live feed is the owner's whole calendar, so rewriting it after each batch cost a full assembly
and an S3 PUT per batch, and while writes trickle in every batch holds one or two changes. So
a feed is rewritten at most once per interval; calendar apps poll it every 15 minutes anyway.

Which feeds are behind lives in the worker's database (store/feeds.py), recorded by the
projection in the transaction that changes the owner's todos, not in this process's memory: a
crash or a stop loses nothing, and the first round after a start writes whatever was left due.

A feed object that went missing (deleted by hand, or by an old lifecycle rule that expired the
whole bucket) would otherwise stay missing until the owner's next change, and calendar apps
would be told nothing; the sweep lists the feeds every so often and marks each missing one due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import Engine, select

from ical_worker.render import FEED_HEAD, assemble
from ical_worker.storage import CalendarStore
from ical_worker.store import feeds as feed_state
from ical_worker.store.tables import owners
from ical_worker.store.versions import current_bodies
from taskoverflow_events.calendar_keys import FEED_PREFIX, feed_key

log = structlog.get_logger("ical_worker.feeds")

ROUND_LIMIT = 1000  # due feeds one round takes on; the rest wait for the next round
RETRY_SECONDS = 10.0  # a feed whose render failed is tried again after this long
LIST_PAGE = 1000  # ListObjectsV2's most keys per call: one call per thousand owners
STOP_SECONDS = 20.0  # at most this long writing what is still due when the process stops


class LiveFeeds:
    """Writes an owner's live feed from the projection when, and only when, it is behind."""

    def __init__(self, engine: Engine, store: CalendarStore, *, interval: float = 0.0) -> None:
        self._engine = engine
        self._store = store
        self.interval = interval

    def refresh(self, owner: str, *, wait: bool = True) -> int | None:
        """Render the owner's feed if it shows less than the projection holds; the sequence it
        now shows, or None if nothing was written (up to date, or, with `wait` off, another
        render of the owner under way). The render lock is held until what was written is
        recorded, so renders of one owner happen one after another, each newer than the last."""
        with self._engine.begin() as conn:
            if not feed_state.lock(conn, owner, wait=wait):
                return None
            rendered, applied = feed_state.rendered_and_applied(conn, owner)
            if rendered >= applied:
                feed_state.settle(conn, owner)
                return None
            bodies = current_bodies(conn, owner, include_completed=True)
            stored = self._store.put(feed_key(owner), assemble(bodies, head=FEED_HEAD))
            feed_state.record(conn, owner, applied)
        log.info("live feed refreshed", owner=owner, sequence=applied, bytes=stored.size)
        return applied

    def due(self, *, throttled: bool = True) -> list[str]:
        with self._engine.connect() as conn:
            throttle = self.interval if throttled else 0.0
            return feed_state.due(conn, limit=ROUND_LIMIT, throttle_seconds=throttle)

    def postpone(self, owner: str) -> None:
        with self._engine.begin() as conn:
            feed_state.postpone(conn, owner, RETRY_SECONDS)


class FeedSweep:
    """Finds owners whose feed object is missing and marks their feeds due.

    Lists the feeds prefix (one call per thousand owners) and holds the keys it found while it
    walks the projection's owners: about 100 bytes per owner, some 100 MB at a million owners,
    where S3 Inventory would be the better source."""

    def __init__(self, engine: Engine, s3: Any, bucket: str) -> None:
        self._engine = engine
        self._s3 = s3
        self._bucket = bucket

    def run(self) -> list[str]:
        present: set[str] = set()
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=FEED_PREFIX, PaginationConfig={"PageSize": LIST_PAGE}
        )
        for page in pages:
            present.update(item["Key"] for item in page.get("Contents", ()))
        # Listed first: a feed written after the listing is at worst rendered once more.
        stmt = select(owners.c.owner, owners.c.applied_sequence).where(
            owners.c.applied_sequence > 0
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt.execution_options(yield_per=LIST_PAGE))
            missing = [(o, a) for o, a in rows if feed_key(o) not in present]
        if missing:
            missing.sort()  # rows locked in one order: two workers sweeping cannot deadlock
            with self._engine.begin() as conn:
                feed_state.mark_missing(conn, missing)
            log.warning("live feeds missing; rendering them again", owners=len(missing))
        return [owner for owner, _ in missing]


class FeedRefresher:
    """A thread that writes due feeds each interval (and at once on start) and sweeps for
    missing ones every `sweep_seconds`. With an interval of 0 the worker writes a batch's feeds
    itself; the thread still retries failed ones and sweeps, once a second."""

    def __init__(
        self,
        feeds: LiveFeeds,
        sweep: FeedSweep | None,
        *,
        sweep_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feeds = feeds
        self._sweep = sweep
        self._sweep_seconds = sweep_seconds
        self._clock = clock
        self._next_sweep = clock()  # the first round sweeps
        self._tick = feeds.interval if feeds.interval > 0 else 1.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-refresher", daemon=True)

    def start(self) -> FeedRefresher:
        self._thread.start()
        return self

    def run_once(self) -> int:
        """One round: sweep if it is time, then write due feeds; the number written."""
        if self._sweep is not None and self._clock() >= self._next_sweep:
            self._next_sweep = self._clock() + self._sweep_seconds
            try:
                self._sweep.run()
            except Exception as exc:  # noqa: BLE001 - S3 or the database away: next sweep
                log.warning("live feed sweep failed", error=repr(exc))
        return self._write_due(throttled=True, until=None)

    def stop(self) -> None:
        """Stop the thread, then write what is still due (for up to STOP_SECONDS), so changes
        reach calendar apps now rather than after the next start."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._write_due(throttled=False, until=self._clock() + STOP_SECONDS)

    def _write_due(self, *, throttled: bool, until: float | None) -> int:
        try:
            due = self._feeds.due(throttled=throttled)
        except Exception as exc:  # noqa: BLE001 - the database away: next round
            log.warning("could not read which live feeds are due", error=repr(exc))
            return 0
        written = 0
        for owner in due:
            if self._clock() > until if until is not None else self._stop.is_set():
                break
            try:
                # Without waiting: a render of this owner under way elsewhere writes it, or
                # leaves it due for the next round.
                if self._feeds.refresh(owner, wait=False) is not None:
                    written += 1
            except Exception as exc:  # noqa: BLE001 - S3 or the database away: later
                log.warning("live feed refresh failed; will retry", owner=owner, error=repr(exc))
                self._postpone(owner)
        return written

    def _postpone(self, owner: str) -> None:
        try:
            self._feeds.postpone(owner)
        except Exception as exc:  # noqa: BLE001 - it stays due, and is tried next round
            log.warning("could not postpone a live feed", owner=owner, error=repr(exc))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._tick)
