"""CalendarRequested: an owner asked for their calendar as it stood at stream version `as_of`.

`signing` says which of the owner's webhook secrets sign the job's webhook: a version number and,
while a rotation's grace lasts, until when the version before it signs too. It names secrets,
never carries one (ADR 11): the notifier derives them from its own signing key. The ical-worker
carries it forward with `notify` into the job's outcome. Absent (an event written before it
existed) means version 1 alone, which is what every owner had then; so adding it keeps v1.

`deadline_at` is when todo-api fails the job if it has not finished (JOB_DEADLINE_SECONDS after
the request). A worker that meets the request later ends it as failed, deadline_exceeded, rather
than rendering a calendar for a job already failed, whose webhook would then tell its receiver
the opposite of the job's status. Absent (written before it existed): no deadline. Optional and
ignored by earlier readers, so adding it keeps v1 too.
"""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_serializer

EVENT_TYPE = "CalendarRequested"


def _utc_iso(value: datetime | None) -> str | None:
    """Naive times are UTC; written as ISO 8601 with a Z."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CalendarOptionsV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    include_completed: bool = True


class WebhookSigningV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    secret_version: int = Field(
        default=1, ge=1, description="The owner's current webhook secret version (not secret)."
    )
    previous_valid_until: datetime | None = Field(
        default=None,
        description="Until when (UTC) version secret_version - 1 also signs: a rotation's grace.",
    )

    @field_serializer("previous_valid_until")
    def _utc_iso(self, value: datetime | None) -> str | None:
        return _utc_iso(value)


class CalendarRequestedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    as_of: int = Field(
        ge=0, description="The owner's stream version when the calendar was asked for."
    )
    options: CalendarOptionsV1 = CalendarOptionsV1()
    notify: str | None = Field(default=None, description="Callback URL to notify when done.")
    signing: WebhookSigningV1 | None = Field(
        default=None,
        description="Which of the owner's webhook secrets sign the callback; absent: version 1.",
    )
    deadline_at: datetime | None = Field(
        default=None,
        description="When (UTC) the job fails if unfinished; past it, no calendar is rendered.",
    )

    @field_serializer("deadline_at")
    def _deadline_utc_iso(self, value: datetime | None) -> str | None:
        return _utc_iso(value)
