"""One received batch, handled message by message (or run by run), as consumer.py describes.

A run is consecutive messages of one FIFO group and one event type that has a batch handler:
they go to it together, in one call and one transaction. Every other message, poison included,
is a run of its own. A transient fault (the database restarting) is retried in place first,
with backoff, while the heartbeat keeps the messages invisible: left to SQS, the message would
come back only after a whole visibility timeout, and on a FIFO queue its owner's group would
wait as long. Handlers are transactional and idempotent, so running one again is safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from taskoverflow_events.codec import DecodedEvent
from taskoverflow_events.errors import PoisonMessage
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.persistence import is_transient_database_error
from taskoverflow_events.queue_calls import QueueCalls

Handler = Callable[[DecodedEvent], None]
# Several consecutive events of one FIFO group and one type, to apply in one go (in order).
BatchHandler = Callable[[list[DecodedEvent]], None]
# A received message with its event, or the reason it could not be decoded.
Decoded = tuple[dict[str, Any], DecodedEvent | PoisonMessage]

log = structlog.get_logger("taskoverflow.consumer")


@dataclass(slots=True)
class BatchReport:
    received: int = 0
    handled: list[str] = field(default_factory=list)
    handled_events: list[DecodedEvent] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    short_poll: bool = False  # received without waiting (another loop was busy)


@dataclass(slots=True)
class Batch:
    fifo: bool
    report: BatchReport
    handlers: Mapping[str, Handler]
    batch_handlers: Mapping[str, BatchHandler]
    decode: Callable[[str], DecodedEvent]
    calls: QueueCalls
    liveness: Liveness
    stopping: threading.Event
    retry_until: float  # this batch's deadline for retrying transient faults in place
    failed_groups: set[str] = field(default_factory=set)

    def handle(
        self,
        messages: list[dict[str, Any]],
        finished: Callable[[str], None],
        settle: Callable[[list[dict[str, Any]]], None],
    ) -> None:
        """Handle the batch. `finished` is told of each message going back for a retry, so the
        heartbeat stops keeping it; `settle` is given each group's messages that are done with
        (to delete) as soon as that group is through. On a FIFO queue a batch can hold several
        groups: they are handled at once, each in order, so one owner's slow message holds up
        neither another owner's in the same batch nor, once settled, that owner's next ones."""
        groups: dict[str | None, list[list[Decoded]]] = {}
        for run in self._runs(messages):
            group = run[0][0].get("Attributes", {}).get("MessageGroupId") if self.fifo else None
            groups.setdefault(group, []).append(run)

        def through(runs: list[list[Decoded]]) -> None:
            done: list[dict[str, Any]] = []
            for run in runs:
                outcomes = self._handle_run(run) if len(run) > 1 else [self._handle(*run[0])]
                for (message, _), ok in zip(run, outcomes, strict=True):
                    if ok:
                        done.append(message)  # kept invisible by the heartbeat until deleted
                    else:
                        finished(message["MessageId"])
            settle(done)

        if len(groups) == 1:
            through(next(iter(groups.values())))
            return
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="group") as pool:
            for future in [pool.submit(through, runs) for runs in groups.values()]:
                future.result()

    def _decoded(self, message: dict[str, Any]) -> DecodedEvent | PoisonMessage:
        """The message's event, decoded once per receive, or why it is poison."""
        try:
            event = self.decode(message["Body"])
        except PoisonMessage as exc:
            return exc
        count = message.get("Attributes", {}).get("ApproximateReceiveCount", "1")
        return replace(event, receive_count=int(count))

    def _runs(self, messages: list[dict[str, Any]]) -> list[list[Decoded]]:
        runs: list[list[Decoded]] = []
        key_of_last: tuple[str | None, str] | None = None
        for message in messages:
            event = self._decoded(message)
            key = None
            if isinstance(event, DecodedEvent) and event.event_type in self.batch_handlers:
                key = (message.get("Attributes", {}).get("MessageGroupId"), event.event_type)
            if key is not None and key == key_of_last:
                runs[-1].append((message, event))
            else:
                runs.append([(message, event)])
            key_of_last = key
        return runs

    def _handle_run(self, run: list[Decoded]) -> list[bool]:
        """Several events of one group and type to their batch handler: all done, or none."""
        group = run[0][0].get("Attributes", {}).get("MessageGroupId")
        ids = [m["MessageId"] for m, _ in run]
        if self.fifo and group in self.failed_groups:
            self.report.skipped.extend(ids)
            return [False] * len(run)
        events = [e for _, e in run if isinstance(e, DecodedEvent)]
        handler = self.batch_handlers[events[0].event_type]
        with structlog.contextvars.bound_contextvars(
            event_type=events[0].event_type,
            owner=events[0].envelope.owner,
            event_ids=[str(e.envelope.event_id) for e in events],
        ):
            if not self._call(lambda: handler(events), ids, group):
                return [False] * len(run)
        self.report.handled.extend(ids)
        self.report.handled_events.extend(events)
        return [True] * len(run)

    def _handle(self, message: dict[str, Any], event: DecodedEvent | PoisonMessage) -> bool:
        """Handle one message; True when it is done with and should be deleted."""
        message_id = message["MessageId"]
        group = message.get("Attributes", {}).get("MessageGroupId")
        if self.fifo and group in self.failed_groups:
            self.report.skipped.append(message_id)
            return False
        if isinstance(event, PoisonMessage):
            # Once it is in the DLQ, the poison no longer stands in its group's way: the messages
            # behind it go on now (a gap it leaves is the projection's to fill from the feed).
            # Only a poison that could not be moved holds its group back.
            if not self.calls.dead_letter(message, reason=str(event)) and group is not None:
                self.failed_groups.add(group)
            self.report.dead_lettered.append(message_id)
            return False
        handler = self.handlers.get(event.event_type)
        context = {
            "event_id": str(event.envelope.event_id),
            "event_type": event.event_type,
            "correlation_id": event.envelope.correlation_id,
            "job_id": event.job_id,
            "owner": event.envelope.owner,
            "sequence": event.envelope.sequence,
        }
        with structlog.contextvars.bound_contextvars(**context):
            if handler is None:
                log.warning("no handler for event type; deleting (check the filter policy)")
                self.report.ignored.append(message_id)
                return True
            if not self._call(
                lambda: handler(event), [message_id], group, receive_count=event.receive_count
            ):
                return False
        self.report.handled.append(message_id)
        self.report.handled_events.append(event)
        return True

    def _call(
        self, work: Callable[[], None], ids: list[str], group: str | None, **fields: Any
    ) -> bool:
        """Run a handler; a failure is logged, counted, and holds back the rest of its group."""
        started = time.perf_counter()
        delay = 0.1
        while True:
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - logged with its traceback in _failed
                if not self._may_retry(exc, delay):
                    self._failed(exc, ids, group, **fields)
                    return False
                log.warning(
                    "handler hit a transient fault; retrying",
                    error=repr(exc),
                    retry_in_s=delay,
                    messages=len(ids),
                    **fields,
                )
                self.liveness.beat()
                self.stopping.wait(delay)
                delay = min(delay * 2, 2.0)
            else:
                ms = round((time.perf_counter() - started) * 1000, 2)
                log.debug("handled", messages=len(ids), ms=ms)
                return True

    def _may_retry(self, exc: Exception, delay: float) -> bool:
        """In place, only a transient fault, within the batch's budget, and not while stopping."""
        return (
            is_transient_database_error(exc)
            and not self.stopping.is_set()
            and time.monotonic() + delay < self.retry_until
        )

    def _failed(self, exc: Exception, ids: list[str], group: str | None, **fields: Any) -> None:
        log.error(
            "handler failed; message left for redelivery",
            error=repr(exc),
            messages=len(ids),
            exc_info=exc,
            **fields,
        )
        self.report.failed.extend(ids)
        if group is not None:
            self.failed_groups.add(group)
