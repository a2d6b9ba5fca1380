"""What the API answers, as pydantic models. The views build plain dicts for speed; these models
exist for the OpenAPI document, and the schemathesis run checks every answer against them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Todo(Answer):
    id: int
    title: str
    description: str | None
    completed: bool
    deadline_at: str | None = Field(pattern=STAMP, description="UTC, YYYY-MM-DDTHH:MM:SS")
    created_at: str = Field(pattern=STAMP)
    updated_at: str = Field(pattern=STAMP)


class Error(Answer):
    error: str = Field(description="what was wrong, for a person to read")


class Health(Answer):
    status: Literal["ok"]


class EventPage(Answer):
    events: list[dict[str, Any]] = Field(
        description="event envelopes in sequence order (see the JSON Schemas in shared/events)"
    )
    next_after: int = Field(description="pass as `after` for the next page")
    stream_version: int = Field(description="the owner's latest sequence")


class TodoHistory(Answer):
    events: list[dict[str, Any]]


class JobAccepted(Answer):
    task_id: str
    task_url: str


class JobStep(Answer):
    status: Literal["PENDING", "STARTED", "SUCCESS", "FAILURE"]
    at: str = Field(pattern=STAMP)
    elapsed_ms: int


class JobError(Answer):
    code: str | None
    message: str | None


class JobNotification(Answer):
    state: Literal["pending", "delivered", "failed"] = Field(
        description="pending from the job's end until the webhook is delivered or given up on"
    )
    attempts: int | None
    status_code: int | None = Field(description="the receiver's last answer")
    error: str | None = Field(description="why the last attempt failed, if it did")


class JobStatus(Answer):
    task_id: str
    task_status: Literal["PENDING", "STARTED", "SUCCESS", "FAILURE"]
    result_url: str
    timeline: list[JobStep]
    error: JobError | None
    notified: bool | None = Field(description="whether the callback was delivered, once known")
    notification: JobNotification | None = Field(
        description="the callback's delivery, reported apart from the status; null without one"
    )
