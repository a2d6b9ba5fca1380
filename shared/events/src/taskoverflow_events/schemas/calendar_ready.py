"""CalendarReady: what the notifier did about a finished calendar job.

v1 was the notifier's last word on a job, success or failure, after any webhook was attempted,
and todo-api took the job's status from it, so a slow webhook held the status (and every job
behind it in the notifier) for as long as the receiver liked. Since v2 a job's status comes from
CalendarGenerated or CalendarGenerationFailed, and CalendarReady means only "the owner's webhook
for this job was delivered, or given up on" (ADR 6). A v1 reader would misread v2 (no outcome:
not a finished job), hence the new version; the upcaster keeps v1's notification, and its
outcome only so that a job in flight across the deploy still finishes.
"""

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


class NotificationV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    delivered: bool = Field(description="A 2xx answer arrived within the delivery's deadline.")
    attempts: int = Field(ge=0)
    status_code: int | None = Field(default=None, description="The last answer's status.")
    delivery_id: str | None = Field(
        default=None, description="X-TaskOverflow-Delivery, the same on every attempt."
    )
    error: str | None = Field(default=None, description="Why the last attempt failed, if it did.")


class CalendarReadyV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    notification: NotificationV2 | None = Field(
        default=None,
        description="The webhook's fate; absent only in events upcast from a v1 without one.",
    )
    # Carried over from v1 by the upcaster, never written in v2: during the deploy that brings
    # v2 in, a job whose CalendarGenerated went out before todo-api subscribed to it is finished
    # from its v1 CalendarReady instead (ADR 7). Removed with v1.
    outcome: Literal["success", "failure"] | None = Field(
        default=None, description="Only in events upcast from v1: how the job ended."
    )
    bucket: str | None = Field(default=None, description="Only in events upcast from v1.")
    key: str | None = Field(default=None, description="Only in events upcast from v1.")
    error: ErrorV1 | None = Field(default=None, description="Only in events upcast from v1.")


def calendar_ready_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    """Keep the job and its notification, and v1's outcome for a job nothing else finished."""
    carried = {k: data.get(k) for k in ("outcome", "bucket", "key", "error")}
    return {"job_id": data["job_id"], "notification": data.get("notification"), **carried}
