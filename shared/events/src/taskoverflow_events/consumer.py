"""The SQS consumer loop every TaskOverflow process uses.

Per message: decode, upcast, bind the log context, dispatch; then the batch's successes are
deleted together (one DeleteMessageBatch, kept invisible by the heartbeat until then). Only
successes are deleted.
A failed message stays on the queue and comes back after its visibility timeout; after
maxReceiveCount SQS moves it to the dead-letter queue. Poison (a message no retry can fix) is
moved to the dead-letter queue at once, with the reason as an attribute: on a FIFO queue a poison
message would otherwise hold its whole group, and the messages behind it would use up their own
receive counts waiting. On FIFO queues, once a message of a group fails, the rest of that group
in the batch is left alone, so an owner's events are never applied out of order.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_events.codec import DecodedEvent, decode
from taskoverflow_events.errors import PoisonMessage
from taskoverflow_events.healthcheck import Liveness
from taskoverflow_events.persistence import is_transient_database_error

Handler = Callable[[DecodedEvent], None]
# Several consecutive events of one FIFO group and one type, to apply in one go (in order).
BatchHandler = Callable[[list[DecodedEvent]], None]
# A received message with its event, or the reason it could not be decoded.
Decoded = tuple[dict[str, Any], DecodedEvent | PoisonMessage]
log = structlog.get_logger("taskoverflow.consumer")

SQS_BATCH_LIMIT = 10
# How long one batch may retry handlers that hit a transient fault (the database away) in place.
TRANSIENT_RETRY_SECONDS = 20.0
# Message attributes a poison message carries into the DLQ; a redrive strips them again.
DEAD_LETTER_REASON = "dead_letter_reason"
SOURCE_QUEUE = "source_queue"


@dataclass(slots=True)
class BatchReport:
    received: int = 0
    handled: list[str] = field(default_factory=list)
    handled_events: list[DecodedEvent] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class QueueConsumer:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handlers: Mapping[str, Handler],
        *,
        wait_time_seconds: int = 10,
        batch_size: int = SQS_BATCH_LIMIT,
        visibility_timeout: int | None = None,
        heartbeat_interval: float | None = None,
        decoder: Callable[[str], DecodedEvent] = decode,
        liveness: Liveness | None = None,
        after_batch: Callable[[list[DecodedEvent]], None] | None = None,
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        transient_retry_seconds: float = TRANSIENT_RETRY_SECONDS,
    ) -> None:
        self._transient_retry = transient_retry_seconds
        self._retry_until = 0.0  # this batch's deadline for retrying transient faults in place
        self._after_batch = after_batch
        self._batch_handlers = dict(batch_handlers or {})
        self._liveness = liveness or Liveness(None)
        self._sqs = sqs
        self.queue_url = queue_url
        self._handlers = dict(handlers)
        self._wait = wait_time_seconds
        self._batch_size = min(batch_size, SQS_BATCH_LIMIT)
        self._decode = decoder
        self._stopping = threading.Event()
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy", "FifoQueue"]
        )["Attributes"]
        self.fifo = attrs.get("FifoQueue") == "true"
        self.visibility_timeout = visibility_timeout or int(attrs.get("VisibilityTimeout", "30"))
        self.heartbeat_interval = heartbeat_interval or max(1.0, self.visibility_timeout / 3)
        self._dlq_url = self._dead_letter_queue_url(attrs.get("RedrivePolicy"))

    # -- lifecycle -------------------------------------------------------------------------

    def run(self, *, max_batches: int | None = None) -> None:
        """Poll until stop() (or SIGTERM/SIGINT via install_signal_handlers); the batch in hand
        always finishes, so a stop never half-handles a message."""
        log.info("consumer started", queue_url=self.queue_url, fifo=self.fifo)
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
        log.info("consumer stopped", queue_url=self.queue_url)

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def install_signal_handlers(self) -> None:
        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("stop requested", signal=signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)

    # -- one batch -------------------------------------------------------------------------

    def run_once(self) -> BatchReport:
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["ApproximateReceiveCount", "MessageGroupId"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        report = BatchReport(received=len(messages))
        self._retry_until = time.monotonic() + self._transient_retry
        if not messages:
            return report
        done: list[dict[str, Any]] = []
        with _Heartbeat(self, messages) as heartbeat:
            failed_groups: set[str] = set()
            for run in self._runs(messages):
                if len(run) > 1:
                    outcomes = self._handle_run(run, failed_groups, report)
                else:
                    outcomes = [self._handle(*run[0], failed_groups, report)]
                for (message, _), ok in zip(run, outcomes, strict=True):
                    if ok:
                        done.append(message)  # kept invisible by the heartbeat until deleted
                    else:
                        heartbeat.finished(message["MessageId"])  # back for a retry
            self._delete_batch(done)
            # Never tried, so no reason to wait out a visibility timeout: FIFO still holds them
            # back until the failed message before them is done.
            self._release([m for m in messages if m["MessageId"] in set(report.skipped)])
        if self._after_batch is not None and report.handled_events:
            try:
                self._after_batch(report.handled_events)
            except Exception as exc:
                log.error("after-batch work failed", error=repr(exc), exc_info=True)
        return report

    def _decoded(self, message: dict[str, Any]) -> DecodedEvent | PoisonMessage:
        """The message's event, decoded once per receive, or why it is poison."""
        try:
            event = self._decode(message["Body"])
        except PoisonMessage as exc:
            return exc
        count = message.get("Attributes", {}).get("ApproximateReceiveCount", "1")
        return replace(event, receive_count=int(count))

    def _runs(self, messages: list[dict[str, Any]]) -> list[list[Decoded]]:
        """The batch cut into runs: consecutive messages of one group and one event type that
        has a batch handler go together (one call, one transaction); every other message,
        poison included, is a run of its own."""
        runs: list[list[Decoded]] = []
        key_of_last: tuple[str | None, str] | None = None
        for message in messages:
            event = self._decoded(message)
            key = None
            if isinstance(event, DecodedEvent) and event.event_type in self._batch_handlers:
                key = (message.get("Attributes", {}).get("MessageGroupId"), event.event_type)
            if key is not None and key == key_of_last:
                runs[-1].append((message, event))
            else:
                runs.append([(message, event)])
            key_of_last = key
        return runs

    def _handle_run(
        self, run: list[Decoded], failed_groups: set[str], report: BatchReport
    ) -> list[bool]:
        """Several events of one group and type to their batch handler: all done, or none."""
        group = run[0][0].get("Attributes", {}).get("MessageGroupId")
        ids = [m["MessageId"] for m, _ in run]
        if self.fifo and group in failed_groups:
            report.skipped.extend(ids)
            return [False] * len(run)
        events = [e for _, e in run if isinstance(e, DecodedEvent)]
        handler = self._batch_handlers[events[0].event_type]
        with structlog.contextvars.bound_contextvars(
            event_type=events[0].event_type,
            owner=events[0].envelope.owner,
            event_ids=[str(e.envelope.event_id) for e in events],
        ):
            if not self._call(lambda: handler(events), ids, group, failed_groups, report):
                return [False] * len(run)
        report.handled.extend(ids)
        report.handled_events.extend(events)
        return [True] * len(run)

    def _handle(
        self,
        message: dict[str, Any],
        event: DecodedEvent | PoisonMessage,
        failed_groups: set[str],
        report: BatchReport,
    ) -> bool:
        """Handle one message; True when it is done with and should be deleted."""
        message_id = message["MessageId"]
        group = message.get("Attributes", {}).get("MessageGroupId")
        if self.fifo and group in failed_groups:
            report.skipped.append(message_id)
            return False
        if isinstance(event, PoisonMessage):
            # Once it is in the DLQ, the poison no longer stands in its group's way: the messages
            # behind it go on now (a gap it leaves is the projection's to fill from the feed).
            # Only a poison that could not be moved holds its group back.
            if not self._dead_letter(message, reason=str(event)) and group is not None:
                failed_groups.add(group)
            report.dead_lettered.append(message_id)
            return False
        handler = self._handlers.get(event.event_type)
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
                report.ignored.append(message_id)
                return True
            if not self._call(
                lambda: handler(event),
                [message_id],
                group,
                failed_groups,
                report,
                receive_count=event.receive_count,
            ):
                return False
        report.handled.append(message_id)
        report.handled_events.append(event)
        return True

    def _call(
        self,
        work: Callable[[], None],
        ids: list[str],
        group: str | None,
        failed_groups: set[str],
        report: BatchReport,
        **fields: Any,
    ) -> bool:
        """Run a handler; a failure is logged, counted, and holds back the rest of its group.

        A transient fault (the database restarting) is retried here first, with backoff, while
        the heartbeat keeps the messages invisible: left to SQS, the message would come back only
        after a whole visibility timeout, and on a FIFO queue its owner's group would wait as
        long. Handlers are transactional and idempotent, so running one again is safe.
        """
        started = time.perf_counter()
        delay = 0.1
        while True:
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - logged with its traceback in _failed
                if not self._may_retry(exc, delay):
                    self._failed(exc, ids, group, failed_groups, report, **fields)
                    return False
                log.warning(
                    "handler hit a transient fault; retrying",
                    error=repr(exc),
                    retry_in_s=delay,
                    messages=len(ids),
                    **fields,
                )
                self._liveness.beat()
                self._stopping.wait(delay)
                delay = min(delay * 2, 2.0)
            else:
                ms = round((time.perf_counter() - started) * 1000, 2)
                log.debug("handled", messages=len(ids), ms=ms)
                return True

    def _may_retry(self, exc: Exception, delay: float) -> bool:
        """In place, only a transient fault, within the batch's budget, and not while stopping."""
        return (
            is_transient_database_error(exc)
            and not self._stopping.is_set()
            and time.monotonic() + delay < self._retry_until
        )

    @staticmethod
    def _failed(
        exc: Exception,
        ids: list[str],
        group: str | None,
        failed_groups: set[str],
        report: BatchReport,
        **fields: Any,
    ) -> None:
        log.error(
            "handler failed; message left for redelivery",
            error=repr(exc),
            messages=len(ids),
            exc_info=exc,
            **fields,
        )
        report.failed.extend(ids)
        if group is not None:
            failed_groups.add(group)

    # -- SQS calls -------------------------------------------------------------------------

    def _delete(self, message: dict[str, Any]) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _delete_batch(self, messages: list[dict[str, Any]]) -> None:
        """One DeleteMessageBatch per ten: a message left undeleted by a failure here is simply
        delivered again, which every handler tolerates."""
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            chunk = messages[start : start + SQS_BATCH_LIMIT]
            response = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                log.warning(
                    "delete failed; the message will be delivered again",
                    message_id=chunk[int(failure["Id"])]["MessageId"],
                    reason=failure.get("Message"),
                )

    def _dead_letter(self, message: dict[str, Any], *, reason: str) -> bool:
        """Move a poison message to the DLQ; False when it stays on the queue."""
        system = message.get("Attributes", {})
        log.error(
            "poison message: moving to the dead-letter queue",
            message_id=message["MessageId"],
            reason=reason,
            receive_count=int(system.get("ApproximateReceiveCount", "1")),
            dead_letter_queue=self._dlq_url,
        )
        if self._dlq_url is None:
            # No DLQ configured: leave it; SQS keeps it until its retention period ends.
            return False
        attributes = dict(message.get("MessageAttributes") or {})
        attributes[DEAD_LETTER_REASON] = {"DataType": "String", "StringValue": reason[:1000]}
        attributes[SOURCE_QUEUE] = {"DataType": "String", "StringValue": self.queue_url}
        send: dict[str, Any] = {
            "QueueUrl": self._dlq_url,
            "MessageBody": message["Body"],
            "MessageAttributes": _string_attributes(attributes),
        }
        if self._dlq_url.endswith(".fifo"):
            send["MessageGroupId"] = system.get("MessageGroupId") or "poison"
            send["MessageDeduplicationId"] = message["MessageId"]
        try:
            self._sqs.send_message(**send)
            self._delete(message)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not dead-letter; it will come back", error=repr(exc))
            return False
        return True

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            chunk = messages[start : start + SQS_BATCH_LIMIT]
            try:
                self._sqs.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                        for i, m in enumerate(chunk)
                    ],
                )
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not release skipped messages", error=repr(exc))

    def extend_visibility(self, receipts: Iterable[tuple[str, str]]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": self.visibility_timeout}
            for i, (_, handle) in enumerate(receipts)
        ]
        for start in range(0, len(entries), SQS_BATCH_LIMIT):
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url, Entries=entries[start : start + SQS_BATCH_LIMIT]
            )

    def _dead_letter_queue_url(self, redrive_policy: str | None) -> str | None:
        if not redrive_policy:
            return None
        arn = json.loads(redrive_policy)["deadLetterTargetArn"]
        _, _, _, _, account, name = arn.split(":", 5)
        return str(
            self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        )


class _Heartbeat:
    """Keeps a batch's unfinished messages invisible while a slow handler works on them."""

    def __init__(self, consumer: QueueConsumer, messages: list[dict[str, Any]]) -> None:
        self._consumer = consumer
        self._in_flight = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sqs-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def finished(self, message_id: str) -> None:
        with self._lock:
            self._in_flight.pop(message_id, None)

    def _beat(self) -> None:
        while not self._done.wait(self._consumer.heartbeat_interval):
            with self._lock:
                pending = list(self._in_flight.items())
            if not pending:
                continue
            try:
                self._consumer.extend_visibility(pending)
                log.info("visibility extended", messages=len(pending))
            except Exception as exc:  # noqa: BLE001 - a missed beat only risks a redelivery
                log.warning("visibility heartbeat failed", error=repr(exc))


def _string_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Keep String/Number attributes only: SQS rejects a message echoing received Binary ones."""
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in attributes.items()
        if "StringValue" in value
    }
