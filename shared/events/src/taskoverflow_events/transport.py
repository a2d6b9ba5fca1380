"""How an envelope maps onto SNS/SQS message fields.

The attributes subscriptions filter on are derived here, from the envelope, in one place, so a
filter policy and the code that publishes can never disagree. All attributes are String or
Number: a Binary attribute through SNS raw delivery breaks ReceiveMessage on moto.
"""

from __future__ import annotations

import uuid
from typing import Protocol

FILTER_ATTRIBUTES = ("event_type", "schema_version", "owner")


class Routable(Protocol):
    """What routing needs of a message: an Envelope, or a stored outbox row, both qualify."""

    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def event_type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def owner(self) -> str: ...


def attributes_for(envelope: Routable) -> dict[str, dict[str, str]]:
    return {
        "event_type": {"DataType": "String", "StringValue": envelope.event_type},
        "schema_version": {"DataType": "Number", "StringValue": str(envelope.schema_version)},
        "owner": {"DataType": "String", "StringValue": envelope.owner},
    }


# Calendar requests travel in a message group of their own, beside their owner's changes, so a
# request never waits in the queue behind its owner's backlog of changes; the worker renders the
# state at its as_of whatever the projection has reached (ADR 8). '#' cannot occur in an owner's
# name (todo_api/store/owners.py), so no owner's changes can share another's requests' group.
CALENDAR_REQUESTS_GROUP_SUFFIX = "#calendars"
# The event types that travel beside their owner's changes rather than behind them; the relay
# lets them overtake the owner's unpublished changes too (todo_api/store/tables.py names the
# same type in the partial index it finds them by).
OWN_GROUP_EVENT_TYPES = frozenset({"CalendarRequested"})


def message_group(envelope: Routable) -> str:
    """An owner's changes in one FIFO group, in order; its calendar requests in another."""
    if envelope.event_type in OWN_GROUP_EVENT_TYPES:
        return envelope.owner + CALENDAR_REQUESTS_GROUP_SUFFIX
    return envelope.owner


def fifo_fields(envelope: Routable) -> dict[str, str]:
    """The message group, and explicit dedup (a topic's content-based dedup can't reach a
    queue)."""
    return {
        "MessageGroupId": message_group(envelope),
        "MessageDeduplicationId": str(envelope.event_id),
    }
