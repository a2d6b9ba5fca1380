"""Publish the outbox to SNS, owners in turns, marking what SNS accepted after each pass.

A pass takes owners in turns and an equal share of each one's oldest events (relay/selection.py),
up to `batch_size` in all (fewer while SNS answers slowly: relay/pacing.py). An owner's changes
always go out in its stream's order; its calendar requests, which travel in a FIFO group of
their own, go ahead of them (ADR 8).

A crash between publish and mark re-publishes that pass on restart; the FIFO topic drops the
repeat by MessageDeduplicationId (= event_id) within five minutes and consumers are idempotent
beyond it. An SNS outage fails the pass: writes keep succeeding and the backlog goes out once SNS
is back. An event SNS refuses pauses only its own owner (relay/refusals.py). Where backpressure
is on (relay/backpressure.py), a bulk writer's changes wait in the outbox while the queues they
feed are deep.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, Engine

from taskoverflow_events import quotas
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.metrics import DEFAULT_NAMESPACE
from taskoverflow_events.persistence import is_postgres
from taskoverflow_events.publisher import (
    OutgoingMessage,
    Publisher,
    PublishInterrupted,
    PublishOutcome,
)
from taskoverflow_events.transport import OWN_GROUP_EVENT_TYPES
from todo_api.relay.backpressure import Backpressure
from todo_api.relay.lag import LagReport
from todo_api.relay.leadership import Lease
from todo_api.relay.pacing import PassPacing
from todo_api.relay.refusals import RefusedOwners
from todo_api.relay.selection import PassSelector, Selection
from todo_api.store import outbox
from todo_api.store.notifications import OUTBOX_CHANNEL, ChannelListener

log = structlog.get_logger("todo_api.relay")


@dataclass(frozen=True, slots=True)
class RelayPass:
    published: int
    failed: int
    # Some owner had more waiting than this pass took: pass again at once.
    more: bool
    # Changes were left in the outbox for backpressure: look again once the depth may have fallen.
    held: bool = False


class Relay:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        batch_size: int = 100,
        owners_per_pass: int = 10,
        idle_seconds: float = 0.05,
        max_backoff_seconds: float = 5.0,
        listen_seconds: float = 1.0,
        lease_seconds: float = 10.0,
        lag_report_seconds: float = 15.0,
        metrics_namespace: str = DEFAULT_NAMESPACE,
        liveness: Liveness | None = None,
        backpressure: Backpressure | None = None,
    ) -> None:
        self._liveness = liveness or Liveness(None)
        self._engine = engine
        self._publisher = publisher
        self._pacing = PassPacing(batch_size)
        # So many owners fit a whole pass with a full PublishBatch each (a pass shrunk by slow
        # SNS gives each fewer: relay/pacing.py).
        self._selector = PassSelector(
            max(1, min(owners_per_pass, batch_size // quotas.MAX_BATCH_ENTRIES))
        )
        self._idle = idle_seconds
        self._max_backoff = max_backoff_seconds
        self._lease = Lease(engine, seconds=lease_seconds)
        self._refused = RefusedOwners()
        self._lag = LagReport(engine, namespace=metrics_namespace, every_seconds=lag_report_seconds)
        self._backpressure = backpressure
        self._stop = threading.Event()
        # On PostgreSQL a commit that appends events wakes the relay (migration 0004), so it
        # neither polls an idle outbox nor lets a new event wait out a polling interval.
        self._wakeup = ChannelListener(engine, OUTBOX_CHANNEL) if is_postgres(engine) else None
        self._listen = listen_seconds

    def publish_pending(self) -> RelayPass:
        """One pass over the outbox, if this relay leads. Raises if SNS or the database is
        unreachable, after recording whatever went out before the failure."""
        if not self._lease.hold():
            return RelayPass(published=0, failed=0, more=False)
        held = self._holding()
        with self._engine.connect() as conn:
            rows, more, held = self.select_pass(conn, held=held)
        if not rows:
            return RelayPass(published=0, failed=0, more=False, held=held)
        messages = [
            OutgoingMessage(r.event_id, r.event_type, r.schema_version, r.owner, r.body)
            for r in rows
        ]
        started = time.monotonic()
        try:
            # Before each call: still the leader (renewing the lease when due)?
            outcome = self._publisher.publish_messages(messages, may_continue=self._lease.hold)
        except PublishInterrupted as interrupted:
            self._record(rows, interrupted.outcome)
            raise
        self._pacing.observed(len(messages), time.monotonic() - started)
        self._record(rows, outcome)
        return RelayPass(len(outcome.published), len(outcome.failed), more, held)

    def _record(self, rows: list[outbox.StoredEvent], outcome: PublishOutcome) -> None:
        """Mark what SNS accepted; pause each owner SNS refused, and only those."""
        published = set(outcome.published)
        if self._backpressure is not None:
            changes = [r for r in rows if r.event_type not in OWN_GROUP_EVENT_TYPES]
            self._backpressure.published(sum(1 for r in changes if r.event_id in published))
        with self._engine.begin() as conn:
            outbox.mark_published(conn, outcome.published)
        refused_owners = set()
        for row in rows:
            if row.event_id in outcome.failed:
                reason = outcome.failed[row.event_id]
                refused_owners.add(row.owner)
                wait = self._refused.refuse(row.owner, reason)
                log.error(
                    "SNS refused an event; its owner's later events wait for it",
                    event_id=str(row.event_id),
                    owner=row.owner,
                    sequence=row.sequence,
                    reason=reason,
                    retry_in_s=round(wait, 2),
                )
        for owner in {r.owner for r in rows if r.event_id in published} - refused_owners:
            self._refused.accepted(owner)
        if outcome.published:
            log.debug("published", count=len(outcome.published))

    def _holding(self) -> bool:
        """Whether backpressure holds changes this pass. Asked outside any transaction (the
        depth is an SQS call), and only while some change waits, so an idle relay asks nothing."""
        if self._backpressure is None:
            return False
        with self._engine.connect() as conn:
            if not outbox.has_unpublished_changes(conn):
                return False
        return self._backpressure.holding()

    def select_pass(self, conn: Connection, *, held: bool = False) -> Selection:
        """This pass's events; a seam for tests, which replace it with another relay's policy."""
        return self._selector.select(
            conn, budget=self._pacing.budget(), paused=self._refused.waiting(), held=held
        )

    def run(self) -> None:
        log.info("relay started", topic_arn=self._publisher.topic_arn, holder=self._lease.holder)
        backoff = self._idle
        term: int | None = None
        while not self._stop.is_set():
            self._liveness.beat()
            try:
                if not self._lease.hold():
                    if term is not None:
                        log.warning("lost relay leadership; standing by")
                    term = None
                    self._stop.wait(min(1.0, self._lease.seconds / 4))
                    continue
                if self._lease.term != term:
                    # Another relay may have led meanwhile: what this one knew is stale.
                    term = self._lease.term
                    self._refused = RefusedOwners()
                    self._selector.reset()
                    log.info("relay is leader", term=term)
                self._report_lag()
                result = self.publish_pending()
                backoff = self._idle
                if not result.more:
                    # The outbox was drained as of this pass's read (but for paused owners and
                    # held changes). Whatever commits after that read has notified the channel,
                    # so the rest ends at once for it; another pass now would only find nothing.
                    self._rest(held=result.held)
            except Exception as exc:  # noqa: BLE001 - an outage must only delay events
                log.warning("relay pass failed; backing off", error=repr(exc), backoff_s=backoff)
                self._stop.wait(backoff)
                backoff = min(self._max_backoff, backoff * 2 if backoff else 0.1)
        self._lease.release()
        if self._wakeup is not None:
            self._wakeup.close()
        log.info("relay stopped")

    def _report_lag(self) -> None:
        """On its own timer and in its own try: an SNS outage must raise the lag, not hide it."""
        if not self._lag.due():
            return
        try:
            self._lag.report(owners_paused=len(self._refused.waiting()))
        except Exception as exc:  # noqa: BLE001 - the metric then goes missing, which alarms
            log.warning("could not measure the outbox's lag", error=repr(exc))

    def _rest(self, *, held: bool = False) -> None:
        """Until there may be something to publish: a notification, a polling interval, a paused
        owner's turn, the next look at held changes' queues, or the lease's renewal, whichever
        comes first."""
        limit = self._lease.renew_in
        retry = self._refused.next_retry_in()
        if retry is not None:
            limit = min(limit, retry)
        if held and self._backpressure is not None:
            limit = min(limit, max(self._idle, self._backpressure.recheck_in()))
        if self._wakeup is None:
            self._stop.wait(min(self._idle, limit))
        else:
            # The timeout is only a safety net (and how soon a stop is noticed).
            self._wakeup.wait(min(self._listen, limit))

    def stop(self) -> None:
        self._stop.set()
