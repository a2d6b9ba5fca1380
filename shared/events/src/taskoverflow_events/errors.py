"""Why a message cannot be handled, as exception types the consumer loop can tell apart.

A `PoisonMessage` will never succeed however often it is retried, so the loop logs it once,
clearly, and lets SQS move it to the dead-letter queue instead of crashing or spinning on it.
"""


class PoisonMessage(Exception):
    """A message that no retry can fix."""


class MalformedMessage(PoisonMessage):
    """The body is not JSON, not an envelope, or its data breaks the event's schema."""


class UnknownEventType(PoisonMessage):
    """No schema is registered for this `event_type`."""


class UnknownSchemaVersion(PoisonMessage):
    """The `event_type` is known but this `schema_version` is not (e.g. from a newer producer)."""

    @classmethod
    def for_reader(cls, event_type: str, version: int, current: int) -> "UnknownSchemaVersion":
        return cls(f"{event_type} v{version} is unknown here (this reader knows v1 to v{current})")
