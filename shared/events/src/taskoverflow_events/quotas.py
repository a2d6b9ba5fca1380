"""AWS's limits on what one call may carry, in one place, with where each comes from.

Every batch this code sends is cut here, by entry count and by bytes, so a limit is honoured by
construction instead of being discovered as a refused call in production. The numbers are AWS's
as documented on 2026-11-30; where a limit is configurable (a topic's or a queue's
MaximumMessageSize) the caller reads the resource's own value and passes it in.

Sources:
- SNS API Reference, PublishBatch: at most 10 entries (TooManyEntriesInBatchRequest past it); one
  message and the whole call (the sum of its messages) may each be at most the topic's
  MaximumMessageSize (BatchRequestTooLong past it).
- SNS Developer Guide, "Publishing large messages": MaximumMessageSize is a topic attribute,
  1,024 to 1,048,576 bytes, 262,144 (256 KiB) by default; SNS counts the body and every
  attribute's name, data type and value.
- SNS Developer Guide, "Amazon SNS message attributes": with raw delivery to SQS at most 10
  attributes; a message with more is dropped as a client-side error, silently for the publisher.
- SQS Developer Guide, "Amazon SQS message quotas": a message and a SendMessageBatch call at most
  the queue's MaximumMessageSize, up to 1,048,576 bytes (raised from 256 KiB in August 2025);
  10 entries per batch; 10 message attributes per message.
- SNS and SQS API References, MessageGroupId: up to 128 characters, alphanumerics and
  punctuation (!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~).
- SQS API Reference, ReceiveMessage: WaitTimeSeconds 0 to 20 (a long poll waits at most 20 s).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

MAX_BATCH_ENTRIES = 10  # SNS PublishBatch, SQS SendMessageBatch and DeleteMessageBatch alike
MAX_MESSAGE_ATTRIBUTES = 10  # SQS, and SNS raw delivery into SQS
SNS_DEFAULT_MAX_MESSAGE_BYTES = 262_144
SNS_MIN_MAX_MESSAGE_BYTES = 1_024
SNS_CEILING_MAX_MESSAGE_BYTES = 1_048_576
SQS_CEILING_MAX_MESSAGE_BYTES = 1_048_576
MESSAGE_GROUP_ID_MAX = 128
SQS_MAX_WAIT_SECONDS = 20
_MESSAGE_GROUP_ID = re.compile(
    f"[A-Za-z0-9{re.escape(string.punctuation)}]{{1,{MESSAGE_GROUP_ID_MAX}}}"
)

T = TypeVar("T")


def attribute_bytes(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """What message attributes add to a message's size: each name, data type and value."""
    total = 0
    for name, value in attributes.items():
        total += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            total += len(str(value["StringValue"]).encode())
        if "BinaryValue" in value:
            total += len(value["BinaryValue"])
    return total


def message_bytes(body: str, attributes: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """A message's size as SNS and SQS count it against MaximumMessageSize."""
    return len(body.encode()) + attribute_bytes(attributes or {})


def attribute_problem(attributes: Mapping[str, Any]) -> str | None:
    """Why SQS would refuse these attributes, or SNS raw delivery drop the message; or None."""
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        return (
            f"{len(attributes)} message attributes; SNS raw delivery and SQS allow "
            f"{MAX_MESSAGE_ATTRIBUTES} ({', '.join(sorted(attributes))})"
        )
    return None


def message_group_problem(group_id: str) -> str | None:
    """Why SNS and SQS would refuse this MessageGroupId, or None."""
    if _MESSAGE_GROUP_ID.fullmatch(group_id):
        return None
    return (
        f"MessageGroupId {group_id[:40]!r} is not 1-{MESSAGE_GROUP_ID_MAX} alphanumeric "
        "or punctuation characters"
    )


def topic_max_message_bytes(attributes: Mapping[str, str]) -> int:
    """A topic's MaximumMessageSize from GetTopicAttributes, or AWS's default when absent."""
    value = attributes.get("MaximumMessageSize")
    if not value:
        return SNS_DEFAULT_MAX_MESSAGE_BYTES
    size = int(value)
    return max(SNS_MIN_MAX_MESSAGE_BYTES, min(size, SNS_CEILING_MAX_MESSAGE_BYTES))


def batches(
    items: Sequence[T],
    size_of: Callable[[T], int],
    *,
    max_bytes: int,
    max_entries: int = MAX_BATCH_ENTRIES,
) -> Iterator[list[T]]:
    """Consecutive runs of `items`, in order, each within `max_entries` and `max_bytes`.

    An item that alone is over `max_bytes` travels in a batch of its own, so the service, the
    authority on its own limit, refuses only that entry and nothing that shares its call.
    """
    batch: list[T] = []
    used = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) == max_entries or used + size > max_bytes):
            yield batch
            batch, used = [], 0
        batch.append(item)
        used += size
    if batch:
        yield batch
