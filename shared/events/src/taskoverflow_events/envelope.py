"""The envelope every TaskOverflow message travels in (DESIGN.md, "Events").

`data` stays a plain dict here: the envelope is read first, the upcasters then bring `data` to the
current schema version, and only then is it validated against the event's model (see codec.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    occurred_at: datetime
    producer: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    correlation_id: str | None = None
    causation_id: uuid.UUID | None = None
    sequence: int | None = Field(default=None, ge=1)
    data: dict[str, Any]

    @field_serializer("occurred_at")
    def _utc_iso(self, value: datetime) -> str:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def new_envelope(
    payload: BaseModel,
    *,
    producer: str,
    owner: str,
    correlation_id: str | None = None,
    causation_id: uuid.UUID | None = None,
    sequence: int | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """Wrap a typed payload; its type and version come from the registry, never from the caller."""
    from taskoverflow_events.registry import REGISTRY

    event_type, version = REGISTRY.identify(type(payload))
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        event_type=event_type,
        schema_version=version,
        occurred_at=occurred_at or utc_now(),
        producer=producer,
        owner=owner,
        correlation_id=correlation_id,
        causation_id=causation_id,
        sequence=sequence,
        data=payload.model_dump(mode="json"),
    )
