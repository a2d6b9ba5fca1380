"""CalendarGenerationStarted: the ical-worker has begun rendering a job."""

import uuid

from pydantic import BaseModel, ConfigDict

EVENT_TYPE = "CalendarGenerationStarted"


class CalendarGenerationStartedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
