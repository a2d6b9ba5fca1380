"""Bytes on the wire to a typed event and back.

`decode` is the single door every consumer goes through: envelope, then upcast, then the event's
own model. Every way it can fail is a PoisonMessage subclass so the consumer loop can route it to
the dead-letter queue with a clear reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from taskoverflow_events.envelope import Envelope
from taskoverflow_events.errors import MalformedMessage
from taskoverflow_events.registry import REGISTRY, EventRegistry
from taskoverflow_events.upcasting import UPCASTERS, Upcaster, upcast


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """An envelope whose data has been upcast and validated into the current model."""

    envelope: Envelope
    payload: BaseModel
    receive_count: int = 1  # set by the consumer loop from SQS's ApproximateReceiveCount

    @property
    def event_type(self) -> str:
        return self.envelope.event_type

    @property
    def job_id(self) -> str | None:
        job_id = getattr(self.payload, "job_id", None)
        return str(job_id) if job_id is not None else None


def encode(envelope: Envelope) -> str:
    return envelope.model_dump_json()


def decode(
    body: str | bytes,
    *,
    registry: EventRegistry = REGISTRY,
    upcasters: dict[tuple[str, int], Upcaster] | None = None,
) -> DecodedEvent:
    envelope = _read_envelope(body)
    version, data = upcast(
        envelope.event_type,
        envelope.schema_version,
        envelope.data,
        registry=registry,
        upcasters=UPCASTERS if upcasters is None else upcasters,
    )
    adapter = registry.adapter_for(envelope.event_type, version)
    try:
        payload = adapter.validate_python(data)
    except ValidationError as exc:
        raise MalformedMessage(
            f"{envelope.event_type} v{version} data is invalid: {_summarise(exc)}"
        ) from None
    if version != envelope.schema_version:
        envelope = envelope.model_copy(update={"schema_version": version, "data": data})
    return DecodedEvent(envelope=envelope, payload=payload)


def _read_envelope(body: str | bytes) -> Envelope:
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        if _looks_like_sns_notification(body):
            raise MalformedMessage(
                "body is an SNS Notification wrapper: the subscription lacks RawMessageDelivery"
            ) from None
        raise MalformedMessage(f"not an event envelope: {_summarise(exc)}") from None


def _looks_like_sns_notification(body: str | bytes) -> bool:
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("Type") == "Notification" and "Message" in parsed


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
