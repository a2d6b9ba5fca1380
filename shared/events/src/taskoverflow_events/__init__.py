"""TaskOverflow's event contract and messaging runtime.

Services import from here rather than from each other: this package is the only thing they share.
"""

from taskoverflow_events.codec import DecodedEvent, decode, encode
from taskoverflow_events.envelope import Envelope, new_envelope
from taskoverflow_events.errors import (
    MalformedMessage,
    PoisonMessage,
    UnknownEventType,
    UnknownSchemaVersion,
)
from taskoverflow_events.registry import REGISTRY, EventRegistry

__all__ = [
    "REGISTRY",
    "DecodedEvent",
    "Envelope",
    "EventRegistry",
    "MalformedMessage",
    "PoisonMessage",
    "UnknownEventType",
    "UnknownSchemaVersion",
    "decode",
    "encode",
    "new_envelope",
]
