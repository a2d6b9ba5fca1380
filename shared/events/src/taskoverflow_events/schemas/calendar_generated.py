"""CalendarGenerated: the calendar is in S3 (a claim check; the file itself never rides the bus)."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

EVENT_TYPE = "CalendarGenerated"


class CalendarGeneratedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    bucket: str
    key: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    event_count: int = Field(ge=0)
    render_ms: float = Field(ge=0)
    notify: str | None = None
