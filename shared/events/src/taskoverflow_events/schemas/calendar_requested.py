"""CalendarRequested: an owner asked for their calendar as it stood at stream version `as_of`."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

EVENT_TYPE = "CalendarRequested"


class CalendarOptionsV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    include_completed: bool = True


class CalendarRequestedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    as_of: int = Field(
        ge=0, description="The owner's stream version when the calendar was asked for."
    )
    options: CalendarOptionsV1 = CalendarOptionsV1()
    notify: str | None = Field(default=None, description="Callback URL to notify when done.")
