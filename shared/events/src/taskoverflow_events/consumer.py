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

from taskoverflow_events.codec import DecodedEvent, decode
from taskoverflow_events.errors import PoisonMessage
from taskoverflow_events.healthcheck import Liveness

Handler = Callable[[DecodedEvent], None]
log = structlog.get_logger("taskoverflow.consumer")

SQS_BATCH_LIMIT = 10


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
    ) -> None:
        self._after_batch = after_batch
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
        if not messages:
            return report
        done: list[dict[str, Any]] = []
        with _Heartbeat(self, messages) as heartbeat:
            failed_groups: set[str] = set()
            for message in messages:
                if self._handle(message, failed_groups, report):
                    done.append(message)  # kept invisible by the heartbeat until deleted
                else:
                    heartbeat.finished(message["MessageId"])  # let it come back for a retry
            self._delete_batch(done)
        if self._after_batch is not None and report.handled_events:
            try:
                self._after_batch(report.handled_events)
            except Exception as exc:
                log.error("after-batch work failed", error=repr(exc), exc_info=True)
        return report

    def _handle(
        self, message: dict[str, Any], failed_groups: set[str], report: BatchReport
    ) -> bool:
        """Handle one message; True when it is done with and should be deleted."""
        message_id = message["MessageId"]
        system = message.get("Attributes", {})
        group = system.get("MessageGroupId")
        if self.fifo and group in failed_groups:
            report.skipped.append(message_id)
            return False
        try:
            event = self._decode(message["Body"])
            event = replace(event, receive_count=int(system.get("ApproximateReceiveCount", "1")))
        except PoisonMessage as exc:
            self._dead_letter(message, reason=str(exc))
            report.dead_lettered.append(message_id)
            if group is not None:
                failed_groups.add(group)
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
            started = time.perf_counter()
            try:
                handler(event)
            except Exception as exc:
                log.error(
                    "handler failed; message left for redelivery",
                    error=repr(exc),
                    receive_count=event.receive_count,
                    exc_info=True,
                )
                report.failed.append(message_id)
                if group is not None:
                    failed_groups.add(group)
                return False
            report.handled.append(message_id)
            report.handled_events.append(event)
            log.debug("handled", ms=round((time.perf_counter() - started) * 1000, 2))
            return True

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

    def _dead_letter(self, message: dict[str, Any], *, reason: str) -> None:
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
            return
        attributes = dict(message.get("MessageAttributes") or {})
        attributes["dead_letter_reason"] = {"DataType": "String", "StringValue": reason[:1000]}
        attributes["source_queue"] = {"DataType": "String", "StringValue": self.queue_url}
        send: dict[str, Any] = {
            "QueueUrl": self._dlq_url,
            "MessageBody": message["Body"],
            "MessageAttributes": _string_attributes(attributes),
        }
        if self._dlq_url.endswith(".fifo"):
            send["MessageGroupId"] = system.get("MessageGroupId") or "poison"
            send["MessageDeduplicationId"] = message["MessageId"]
        self._sqs.send_message(**send)
        self._delete(message)

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
