"""CalendarGenerated: the calendar is in S3 (a claim check; the file itself never rides the bus)."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from taskoverflow_events.schemas.calendar_requested import WebhookSigningV1

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
    signing: WebhookSigningV1 | None = Field(
        default=None, description="Carried forward from CalendarRequested, as notify is."
    )
