"""CalendarGenerationFailed: the job cannot succeed; `error` says why in a stable code."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from taskoverflow_events.schemas.calendar_requested import WebhookSigningV1

EVENT_TYPE = "CalendarGenerationFailed"


class ErrorV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class CalendarGenerationFailedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    error: ErrorV1
    notify: str | None = None
    signing: WebhookSigningV1 | None = Field(
        default=None, description="Carried forward from CalendarRequested, as notify is."
    )
