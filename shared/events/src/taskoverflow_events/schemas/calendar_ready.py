"""CalendarReady: the notifier's last word on a job, after any webhook was attempted."""

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from taskoverflow_events.schemas.calendar_generation_failed import ErrorV1

EVENT_TYPE = "CalendarReady"


class NotificationV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    delivered: bool
    attempts: int = Field(ge=0)
    status_code: int | None = None


class CalendarReadyV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    outcome: Literal["success", "failure"]
    bucket: str | None = None
    key: str | None = None
    error: ErrorV1 | None = None
    notification: NotificationV1 | None = Field(
        default=None, description="The webhook attempt, when the job asked for one."
    )
