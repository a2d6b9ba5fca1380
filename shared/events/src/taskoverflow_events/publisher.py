"""Publish envelopes to an SNS topic, in batches, FIFO-aware.

The publisher reports per message what went out and what did not; it never retries on its own.
Retrying is the caller's decision (the todo-api relay keeps unpublished rows and tries again),
so an outage delays events rather than dropping them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from taskoverflow_events.codec import encode
from taskoverflow_events.envelope import Envelope
from taskoverflow_events.transport import attributes_for, fifo_fields

SNS_BATCH_LIMIT = 10


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """An encoded envelope plus the fields routing needs, so a stored body goes out verbatim."""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    owner: str
    body: str

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> OutgoingMessage:
        return cls(
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            schema_version=envelope.schema_version,
            owner=envelope.owner,
            body=encode(envelope),
        )


@dataclass(slots=True)
class PublishOutcome:
    published: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)


class Publisher:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")

    def publish(self, envelope: Envelope) -> None:
        """Publish one envelope or raise: for producers that act on a message they just handled."""
        self.publish_all([envelope])

    def publish_all(self, envelopes: Sequence[Envelope]) -> None:
        """Publish every envelope (in PublishBatch calls) or raise if SNS refused any: a run of
        handled messages is then redelivered whole, and republishing is harmless downstream."""
        outcome = self.publish_messages([OutgoingMessage.from_envelope(e) for e in envelopes])
        if outcome.failed:
            types = sorted({e.event_type for e in envelopes})
            raise RuntimeError(f"SNS refused {', '.join(types)}: {outcome.failed}")

    def publish_messages(self, messages: Sequence[OutgoingMessage]) -> PublishOutcome:
        """Publish in PublishBatch calls of up to ten; an entry-level failure fails only that entry.

        A transport error (endpoint down, throttled past boto3's retries) propagates: nothing after
        it was sent, and the caller still holds every message.
        """
        outcome = PublishOutcome()
        for start in range(0, len(messages), SNS_BATCH_LIMIT):
            chunk = messages[start : start + SNS_BATCH_LIMIT]
            entries = [self._entry(str(i), m) for i, m in enumerate(chunk)]
            response = self._sns.publish_batch(
                TopicArn=self.topic_arn, PublishBatchRequestEntries=entries
            )
            for ok in response.get("Successful", []):
                outcome.published.append(chunk[int(ok["Id"])].event_id)
            for bad in response.get("Failed", []):
                reason = f"{bad.get('Code', '?')}: {bad.get('Message', '')}".strip()
                outcome.failed[chunk[int(bad["Id"])].event_id] = reason
        return outcome

    def _entry(self, entry_id: str, message: OutgoingMessage) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": entry_id,
            "Message": message.body,
            "MessageAttributes": attributes_for(message),
        }
        if self.fifo:
            entry.update(fifo_fields(message))
        return entry
