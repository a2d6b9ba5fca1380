"""The SQS consumer loop every TaskOverflow process uses.

Per message: decode, upcast, bind the log context, dispatch; then the batch's successes are
deleted together (kept invisible by the heartbeat until then). Only successes are deleted. A
failed message comes back after its visibility timeout; after maxReceiveCount SQS moves it to
the dead-letter queue. Poison (a message no retry can fix) is moved to the dead-letter queue at
once, with the reason as an attribute: on a FIFO queue it would otherwise hold its whole group.
On FIFO queues, once a message of a group fails, the rest of that group in the batch is left
alone, so an owner's events are never applied out of order.

Several loops handle batches at once (`concurrency`), so one group's long batch (an owner's
backlog, a slow render) never holds up another group's messages: SQS hands a FIFO group to one
receiver at a time, so while one loop works through a group the others get the rest. The loops
take turns to receive (one ReceiveMessage in flight per consumer), and a loop long-polls only
while no batch is in hand; otherwise it polls without waiting and pauses 0.2 s when nothing came
(at most five calls a second per consumer, and only while there is work). The pause ends as soon
as the last batch in hand is done, so the consumer is never deaf: the next loop long-polls at
once, and a message that came meanwhile is not kept waiting for the pause. An idle consumer so
costs one long poll at a time, and an emulator that spins on a long poll while a FIFO queue's
groups are taken (moto scans the whole queue again and again) is never asked to.
A handler busy for more than `max_handler_seconds` is taken to be stuck: its messages are let
go to another consumer rather than held for good.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog

from taskoverflow_events.codec import DecodedEvent, decode
from taskoverflow_events.consumer_batch import Batch, BatchHandler, BatchReport, Handler
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.heartbeat import Heartbeat
from taskoverflow_events.queue_calls import DEAD_LETTER_REASON, SOURCE_QUEUE, QueueCalls
from taskoverflow_events.quotas import MAX_BATCH_ENTRIES
from taskoverflow_events.stopping import stop_on_signals

__all__ = [
    "DEAD_LETTER_REASON",
    "SOURCE_QUEUE",
    "BatchHandler",
    "BatchReport",
    "Handler",
    "QueueConsumer",
]

log = structlog.get_logger("taskoverflow.consumer")

# How long one batch may retry handlers that hit a transient fault (the database away) in place.
TRANSIENT_RETRY_SECONDS = 20.0
# While another loop is busy: how long an empty short poll pauses before the next.
BUSY_POLL_SECONDS = 0.2
# How long a loop waits for its turn to receive beyond the longest poll, before it gives up
# this turn (a receive stuck past its own socket timeouts must not stop every loop for good).
TURN_MARGIN_SECONDS = 60.0


class QueueConsumer:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handlers: Mapping[str, Handler],
        *,
        wait_time_seconds: int = 10,
        batch_size: int = MAX_BATCH_ENTRIES,
        visibility_timeout: int | None = None,
        heartbeat_interval: float | None = None,
        decoder: Callable[[str], DecodedEvent] = decode,
        liveness: Liveness | None = None,
        after_batch: Callable[[list[DecodedEvent]], None] | None = None,
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        transient_retry_seconds: float = TRANSIENT_RETRY_SECONDS,
        concurrency: int = 1,
        max_handler_seconds: float = 900.0,
        busy_poll_seconds: float = BUSY_POLL_SECONDS,
    ) -> None:
        self._busy_poll = busy_poll_seconds
        self._max_handler = max_handler_seconds
        self._transient_retry = transient_retry_seconds
        self._after_batch = after_batch
        self._batch_handlers = dict(batch_handlers or {})
        self._liveness = liveness or Liveness(None)
        self._sqs = sqs
        self.queue_url = queue_url
        self._handlers = dict(handlers)
        self._wait = wait_time_seconds
        self._batch_size = min(batch_size, MAX_BATCH_ENTRIES)
        self._decode = decoder
        self._stopping = threading.Event()
        self.concurrency = max(1, concurrency)
        self._busy = 0  # loops handling a batch right now
        # Re-entrant: stop() takes it, and stop() runs from a signal handler on the main thread,
        # which may hold it already as one of the loops.
        self._busy_lock = threading.RLock()
        self._busy_changed = threading.Condition(self._busy_lock)
        self._receiving = threading.Lock()  # the loops' turns to receive
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy", "FifoQueue"]
        )["Attributes"]
        self.fifo = attrs.get("FifoQueue") == "true"
        self.visibility_timeout = visibility_timeout or int(attrs.get("VisibilityTimeout", "30"))
        self.heartbeat_interval = heartbeat_interval or max(1.0, self.visibility_timeout / 3)
        self._calls = QueueCalls(sqs, queue_url, attrs.get("RedrivePolicy"))

    # -- lifecycle -------------------------------------------------------------------------

    def run(self, *, max_batches: int | None = None) -> None:
        """Poll until stop() (or SIGTERM/SIGINT via install_signal_handlers), in `concurrency`
        loops; the batches in hand always finish, so a stop never half-handles a message.
        `max_batches` bounds each loop (for tests)."""
        log.info(
            "consumer started", queue_url=self.queue_url, fifo=self.fifo, loops=self.concurrency
        )
        others = [
            threading.Thread(target=self._loop, args=(max_batches,), name=f"receive-{n}")
            for n in range(1, self.concurrency)
        ]
        for thread in others:
            thread.start()
        self._loop(max_batches)
        for thread in others:
            thread.join()
        log.info("consumer stopped", queue_url=self.queue_url)

    def stop(self) -> None:
        self._stopping.set()
        with self._busy_changed:
            self._busy_changed.notify_all()  # a pausing loop returns at once

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def install_signal_handlers(self) -> None:
        stop_on_signals(self.stop)

    def _loop(self, max_batches: int | None) -> None:
        batches = 0
        while not self._stopping.is_set():
            self._liveness.beat()
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any outage
                log.warning("receive failed; backing off", error=repr(exc))
                self._stopping.wait(1.0)
            batches += 1
            if max_batches is not None and batches >= max_batches:
                break

    # -- one batch -------------------------------------------------------------------------

    def _receive(self) -> tuple[list[dict[str, Any]], bool]:
        """This loop's turn to receive: the messages, counted busy before the next loop's turn
        (so it sees them in hand), and whether the poll was short (see the module docstring)."""
        if not self._receiving.acquire(timeout=self._wait + TURN_MARGIN_SECONDS):
            log.warning("no turn to receive; a receive is stuck past its timeouts")
            return [], True
        try:
            if self._stopping.is_set():  # a stop waits for one poll at most, not one per loop
                return [], True
            wait = self._wait if self._busy == 0 else 0
            response = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self._batch_size,
                WaitTimeSeconds=wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount", "MessageGroupId"],
            )
            messages: list[dict[str, Any]] = response.get("Messages", [])
            if messages:
                with self._busy_lock:
                    self._busy += 1
            elif wait == 0:
                # Nothing while another loop is busy: pause before the next loop's turn, so the
                # whole consumer short-polls at most five times a second, not each loop; but
                # only while a batch is still in hand, or nobody would be listening.
                with self._busy_changed:
                    self._busy_changed.wait_for(
                        lambda: self._busy == 0 or self._stopping.is_set(), self._busy_poll
                    )
            return messages, wait == 0
        finally:
            self._receiving.release()

    def run_once(self) -> BatchReport:
        messages, short_poll = self._receive()
        if not messages:
            return BatchReport(received=0, short_poll=short_poll)
        try:  # from here on the batch counts as busy: whatever happens, it stops counting
            report = BatchReport(received=len(messages), short_poll=short_poll)
            batch = Batch(
                fifo=self.fifo,
                report=report,
                handlers=self._handlers,
                batch_handlers=self._batch_handlers,
                decode=self._decode,
                calls=self._calls,
                liveness=self._liveness,
                stopping=self._stopping,
                retry_until=time.monotonic() + self._transient_retry,
            )
            with Heartbeat(
                messages,
                self.extend_visibility,
                self.heartbeat_interval,
                max_seconds=self._max_handler,
            ) as beat:

                def settle(done: list[dict[str, Any]]) -> None:
                    self._calls.delete_batch(done)
                    for message in done:
                        beat.finished(message["MessageId"])

                batch.handle(messages, beat.finished, settle)
                # FIFO still holds skipped messages back until the failed one before them is
                # done; they were never tried, so they need not wait out a visibility timeout.
                skipped = set(report.skipped)
                self._calls.release([m for m in messages if m["MessageId"] in skipped])
        finally:
            with self._busy_changed:
                self._busy -= 1
                self._busy_changed.notify_all()
        if self._after_batch is not None and report.handled_events:
            try:
                self._after_batch(report.handled_events)
            except Exception as exc:
                log.error("after-batch work failed", error=repr(exc), exc_info=True)
        return report

    def extend_visibility(self, receipts: Iterable[tuple[str, str]]) -> None:
        self._calls.extend_visibility(receipts, self.visibility_timeout)
