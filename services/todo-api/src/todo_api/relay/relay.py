"""Publish the outbox in insert order, marking each chunk published once SNS has accepted it.

A crash between publish and mark re-publishes that chunk on restart; the FIFO topic drops the
repeat by MessageDeduplicationId (= event_id) within five minutes and consumers are idempotent
beyond it, so nothing is lost or applied twice. An SNS outage stops the loop from marking
anything: writes keep succeeding and the backlog goes out, in order, once SNS is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, Engine

from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.persistence import is_postgres
from taskoverflow_events.publisher import SNS_BATCH_LIMIT, OutgoingMessage, Publisher
from todo_api.relay.leadership import Leadership
from todo_api.store import event_store
from todo_api.store.notifications import OUTBOX_CHANNEL, ChannelListener

log = structlog.get_logger("todo_api.relay")


@dataclass(frozen=True, slots=True)
class RelayPass:
    published: int
    failed: int


class Relay:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        batch_size: int = 100,
        idle_seconds: float = 0.05,
        max_backoff_seconds: float = 5.0,
        listen_seconds: float = 1.0,
        liveness: Liveness | None = None,
    ) -> None:
        self._liveness = liveness or Liveness(None)
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._max_backoff = max_backoff_seconds
        self._leadership = Leadership(engine)
        self._stop = threading.Event()
        # On PostgreSQL a commit that appends events wakes the relay (migration 0004), so it
        # neither polls an idle outbox nor lets a new event wait out a polling interval.
        self._wakeup = ChannelListener(engine, OUTBOX_CHANNEL) if is_postgres(engine) else None
        self._listen = listen_seconds

    def publish_pending(self) -> RelayPass:
        """One pass over the outbox. Raises if SNS or the database is unreachable."""
        with self._engine.connect() as conn:
            rows = self.pending(conn)
        published = failed = 0
        blocked_owners: set[str] = set()
        for start in range(0, len(rows), SNS_BATCH_LIMIT):
            # After a refused entry, hold back that owner's later events so order is kept.
            chunk = [
                r for r in rows[start : start + SNS_BATCH_LIMIT] if r.owner not in blocked_owners
            ]
            if not chunk:
                continue
            outcome = self._publisher.publish_messages(
                [
                    OutgoingMessage(
                        event_id=r.event_id,
                        event_type=r.event_type,
                        schema_version=r.schema_version,
                        owner=r.owner,
                        body=r.body,
                    )
                    for r in chunk
                ]
            )
            with self._engine.begin() as conn:
                event_store.mark_published(conn, outcome.published)
            published += len(outcome.published)
            for row in chunk:
                if row.event_id in outcome.failed:
                    failed += 1
                    blocked_owners.add(row.owner)
                    log.error(
                        "SNS refused an event; will retry",
                        event_id=str(row.event_id),
                        owner=row.owner,
                        sequence=row.sequence,
                        reason=outcome.failed[row.event_id],
                    )
        if published:
            log.debug("published", count=published)
        return RelayPass(published=published, failed=failed)

    def pending(self, conn: Connection) -> list[event_store.StoredEvent]:
        """What this pass will publish; see event_store.unpublished for why it is not a cursor."""
        return event_store.unpublished(conn, self._batch_size)

    def run(self) -> None:
        log.info("relay started", topic_arn=self._publisher.topic_arn)
        backoff = self._idle
        was_leader = False
        while not self._stop.is_set():
            self._liveness.beat()
            try:
                if not self._leadership.acquire():
                    if was_leader:
                        log.warning("lost relay leadership; standing by")
                    was_leader = False
                    self._stop.wait(1.0)
                    continue
                if not was_leader:
                    log.info("relay is leader")
                    was_leader = True
                result = self.publish_pending()
                backoff = self._idle
                if result.failed:
                    self._stop.wait(self._idle)  # SNS refused some: retry them soon
                elif result.published < self._batch_size:
                    # The outbox was drained as of this pass's read. Whatever commits after
                    # that read has notified the channel, so the rest ends at once for it;
                    # another pass now would only find the outbox empty.
                    self._rest()
            except Exception as exc:  # noqa: BLE001 - an outage must only delay events
                log.warning("relay pass failed; backing off", error=repr(exc), backoff_s=backoff)
                self._stop.wait(backoff)
                backoff = min(self._max_backoff, backoff * 2 if backoff else 0.1)
        self._leadership.release()
        if self._wakeup is not None:
            self._wakeup.close()
        log.info("relay stopped")

    def _rest(self) -> None:
        """Until there may be something to publish: a notification, or a polling interval."""
        if self._wakeup is None:
            self._stop.wait(self._idle)
        else:
            # The timeout is only a safety net (and how soon a stop is noticed).
            self._wakeup.wait(self._listen)

    def stop(self) -> None:
        self._stop.set()

    def drain(self, timeout: float = 10.0) -> None:
        """Publish until the outbox is empty (for tests and graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.publish_pending().published == 0:
                with self._engine.connect() as conn:
                    if event_store.unpublished_count(conn) == 0:
                        return
            time.sleep(0.01)
        raise TimeoutError("outbox did not drain")
