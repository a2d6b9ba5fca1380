"""Publish envelopes to an SNS topic in batches that AWS cannot refuse for their size.

Batches are cut by entry count and by bytes against the topic's own MaximumMessageSize (read
from the topic, see quotas.py), so a call stays within what SNS accepts whatever the messages
weigh. Should SNS still refuse a whole call (the topic's limit was lowered meanwhile, or one
entry alone is too big), the call is split in halves down to single entries: a refusal then
names one entry, and only that entry fails.

On a FIFO topic an owner's order is the point, so once an entry of a message group is refused,
that group's later entries are held back: not sent in a later call, and not reported as sent
even where SNS accepted them in the same call (AWS does not say whether a refused entry fails
the rest of its group). They go again after the refused one. Where SNS had accepted one, it has
already reached subscribers ahead of the refused entry: the topic then drops the repeat, and
the one consumer of the FIFO topic (the ical-worker) treats the early one as a gap, which it
fills from todo-api's event feed, and the late one as a duplicate (ADR 5).

The publisher never retries on its own; the caller still holds whatever did not go out (the
todo-api relay keeps it in its outbox), so an outage delays, never drops. An error partway
through raises PublishInterrupted, which carries what had gone out before it, so the caller
can record that progress instead of sending it all again.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_events import quotas
from taskoverflow_events.codec import encode
from taskoverflow_events.envelope import Envelope
from taskoverflow_events.transport import attributes_for, fifo_fields, message_group

log = structlog.get_logger("taskoverflow.publisher")

# Refusals of a whole PublishBatch call that may be about one of its entries: split and retry.
# Anything else (throttling, access, an unknown topic, a transport error) is about every entry
# alike and propagates, so the caller backs off with all of them.
CALL_REFUSALS = frozenset(
    {
        "BatchRequestTooLong",
        "TooManyEntriesInBatchRequest",
        "InvalidParameter",
        "InvalidParameterValue",
        "ValidationError",
    }
)


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
    # Refused (by SNS, or before sending because SNS would refuse it), with the reason.
    failed: dict[uuid.UUID, str] = field(default_factory=dict)
    # Not counted as sent because an earlier message of the same FIFO group was refused.
    held_back: list[uuid.UUID] = field(default_factory=list)


class PublishInterrupted(Exception):
    """SNS or the network failed partway; `outcome` says what had gone out before (the cause is
    chained). Nothing after the failing call was sent."""

    def __init__(self, outcome: PublishOutcome) -> None:
        super().__init__(f"publishing stopped after {len(outcome.published)} message(s)")
        self.outcome = outcome


@dataclass(frozen=True, slots=True)
class _Entry:
    message: OutgoingMessage
    request: dict[str, Any]
    size: int


class Publisher:
    def __init__(self, sns: Any, topic_arn: str, *, max_message_bytes: int | None = None) -> None:
        self._sns = sns
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")
        self._max_bytes = max_message_bytes  # None: read from the topic when first needed

    @property
    def max_message_bytes(self) -> int:
        """The topic's MaximumMessageSize, which bounds a message and a whole call alike."""
        if self._max_bytes is None:
            try:
                attributes = self._sns.get_topic_attributes(TopicArn=self.topic_arn)["Attributes"]
            except ClientError as exc:
                # Without sns:GetTopicAttributes the default is assumed; should the topic's own
                # limit be lower, refused calls are split until they fit.
                log.warning("could not read the topic's MaximumMessageSize", error=repr(exc))
                attributes = {}
            self._max_bytes = quotas.topic_max_message_bytes(attributes)
        return self._max_bytes

    def publish(self, envelope: Envelope) -> None:
        """Publish one envelope or raise: for producers that act on a message they just handled."""
        self.publish_all([envelope])

    def publish_all(self, envelopes: Sequence[Envelope]) -> None:
        """Publish every envelope or raise if SNS refused any: a run of handled messages is then
        redelivered whole, and republishing is harmless downstream."""
        outcome = self.publish_messages([OutgoingMessage.from_envelope(e) for e in envelopes])
        if outcome.failed or outcome.held_back:
            types = sorted({e.event_type for e in envelopes})
            raise RuntimeError(f"SNS refused {', '.join(types)}: {outcome.failed}")

    def publish_messages(
        self,
        messages: Sequence[OutgoingMessage],
        *,
        may_continue: Callable[[], bool] | None = None,
    ) -> PublishOutcome:
        """Publish in as few calls as the topic's limits allow, reporting each message's fate.

        `may_continue` is asked before each call; once it says no, the rest is left unsent
        (neither published nor failed). A transport error, or a refusal that concerns every
        entry, raises PublishInterrupted with what went out before it.
        """
        outcome = PublishOutcome()
        entries = [e for e in (self._entry(m, outcome) for m in messages) if e is not None]
        limit = self.max_message_bytes
        work = deque(quotas.batches(entries, lambda e: e.size, max_bytes=limit))
        refused_groups: set[str] = set(
            message_group(m) for m in messages if self.fifo and m.event_id in outcome.failed
        )
        while work:
            batch = [e for e in work.popleft() if not self._held(e, refused_groups, outcome)]
            if not batch:
                continue
            if may_continue is not None and not self._may_continue(may_continue, outcome):
                break
            try:
                response = self._sns.publish_batch(
                    TopicArn=self.topic_arn,
                    PublishBatchRequestEntries=[
                        {**e.request, "Id": str(i)} for i, e in enumerate(batch)
                    ],
                )
            except BotoCoreError as exc:
                raise PublishInterrupted(outcome) from exc
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                if code not in CALL_REFUSALS:
                    raise PublishInterrupted(outcome) from exc
                if code == "BatchRequestTooLong":
                    self._max_bytes = None  # the topic's limit may have changed: read it again
                if len(batch) > 1:
                    half = len(batch) // 2
                    work.extendleft([batch[half:], batch[:half]])
                else:
                    self._refuse(batch[0], f"{code}: {error.get('Message', '')}".strip(), outcome)
                    if self.fifo:
                        refused_groups.add(message_group(batch[0].message))
                continue
            self._record(batch, response, refused_groups, outcome)
        return outcome

    @staticmethod
    def _may_continue(may_continue: Callable[[], bool], outcome: PublishOutcome) -> bool:
        """The caller's check (the relay's lease, on the database) may fail too: what went out
        before it must still be reported, or it is published again."""
        try:
            return may_continue()
        except Exception as exc:
            raise PublishInterrupted(outcome) from exc

    def _record(
        self,
        batch: list[_Entry],
        response: dict[str, Any],
        refused_groups: set[str],
        outcome: PublishOutcome,
    ) -> None:
        accepted = {int(ok["Id"]) for ok in response.get("Successful", [])}
        refused = {
            int(bad["Id"]): (
                f"{bad.get('Code', '?')}: {bad.get('Message', '')}".strip()
                + ("" if bad.get("SenderFault", True) else " (SNS's fault; transient)")
            )
            for bad in response.get("Failed", [])
        }
        for i, entry in enumerate(batch):
            if i in refused or i not in accepted:
                self._refuse(entry, refused.get(i, "no result for this entry"), outcome)
                if self.fifo:
                    refused_groups.add(message_group(entry.message))
            elif not self._held(entry, refused_groups, outcome):
                outcome.published.append(entry.message.event_id)

    def _held(self, entry: _Entry, refused_groups: set[str], outcome: PublishOutcome) -> bool:
        if message_group(entry.message) in refused_groups:
            outcome.held_back.append(entry.message.event_id)
            return True
        return False

    @staticmethod
    def _refuse(entry: _Entry, reason: str, outcome: PublishOutcome) -> None:
        outcome.failed[entry.message.event_id] = reason

    def _entry(self, message: OutgoingMessage, outcome: PublishOutcome) -> _Entry | None:
        """The PublishBatch entry for `message`, or None (and the message refused) where SNS
        would refuse it or silently drop its delivery whatever else shares its call."""
        attributes = attributes_for(message)
        request: dict[str, Any] = {"Message": message.body, "MessageAttributes": attributes}
        if self.fifo:
            request.update(fifo_fields(message))
        problem = quotas.attribute_problem(attributes) or (
            quotas.message_group_problem(message_group(message)) if self.fifo else None
        )
        if problem:
            outcome.failed[message.event_id] = f"refused before sending: {problem}"
            return None
        return _Entry(message, request, quotas.message_bytes(message.body, attributes))
