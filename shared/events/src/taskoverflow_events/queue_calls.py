"""The SQS calls the consumer makes besides receiving: delete what is done, dead-letter poison,
release what was never tried, and keep slow messages invisible. Each is batched by ten (SQS's
limit, quotas.py) and none raises for a single message: a message left behind is delivered
again, which every handler tolerates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_events.quotas import MAX_BATCH_ENTRIES

log = structlog.get_logger("taskoverflow.consumer")

# Message attributes a poison message carries into the DLQ; a redrive strips them again.
DEAD_LETTER_REASON = "dead_letter_reason"
SOURCE_QUEUE = "source_queue"


class QueueCalls:
    def __init__(self, sqs: Any, queue_url: str, redrive_policy: str | None) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.dlq_url = self._dead_letter_queue_url(redrive_policy)

    def delete(self, message: dict[str, Any]) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def delete_batch(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_BATCH_ENTRIES):
            chunk = messages[start : start + MAX_BATCH_ENTRIES]
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

    def dead_letter(self, message: dict[str, Any], *, reason: str) -> bool:
        """Move a poison message to the DLQ; False when it stays on the queue."""
        system = message.get("Attributes", {})
        log.error(
            "poison message: moving to the dead-letter queue",
            message_id=message["MessageId"],
            reason=reason,
            receive_count=int(system.get("ApproximateReceiveCount", "1")),
            dead_letter_queue=self.dlq_url,
        )
        if self.dlq_url is None:
            # No DLQ configured: leave it; SQS keeps it until its retention period ends.
            return False
        attributes = dict(message.get("MessageAttributes") or {})
        attributes[DEAD_LETTER_REASON] = {"DataType": "String", "StringValue": reason[:1000]}
        attributes[SOURCE_QUEUE] = {"DataType": "String", "StringValue": self.queue_url}
        send: dict[str, Any] = {
            "QueueUrl": self.dlq_url,
            "MessageBody": message["Body"],
            "MessageAttributes": _string_attributes(attributes),
        }
        if self.dlq_url.endswith(".fifo"):
            send["MessageGroupId"] = system.get("MessageGroupId") or "poison"
            send["MessageDeduplicationId"] = message["MessageId"]
        try:
            self._sqs.send_message(**send)
            self.delete(message)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not dead-letter; it will come back", error=repr(exc))
            return False
        return True

    def release(self, messages: list[dict[str, Any]]) -> None:
        """Visible again at once: never tried, so no reason to wait out a visibility timeout."""
        for start in range(0, len(messages), MAX_BATCH_ENTRIES):
            chunk = messages[start : start + MAX_BATCH_ENTRIES]
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

    def extend_visibility(self, receipts: Iterable[tuple[str, str]], seconds: int) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for i, (_, handle) in enumerate(receipts)
        ]
        for start in range(0, len(entries), MAX_BATCH_ENTRIES):
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url, Entries=entries[start : start + MAX_BATCH_ENTRIES]
            )

    def _dead_letter_queue_url(self, redrive_policy: str | None) -> str | None:
        if not redrive_policy:
            return None
        arn = json.loads(redrive_policy)["deadLetterTargetArn"]
        _, _, _, _, account, name = arn.split(":", 5)
        return str(
            self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        )


def _string_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Keep String/Number attributes only: SQS rejects a message echoing received Binary ones."""
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in attributes.items()
        if "StringValue" in value
    }
