"""CalendarGenerationFailed: the job cannot succeed; `error` says why in a stable code."""

import uuid

from pydantic import BaseModel, ConfigDict

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
