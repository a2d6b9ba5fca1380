"""TodoChanged: a todo was created, updated or deleted; `todo` is its whole state after it."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_TYPE = "TodoChanged"


class TodoV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    description: str | None = None
    completed: bool = False
    deadline_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1, description="The todo's own version, raised by every change.")


class TodoChangedV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    change: Literal["created", "updated", "deleted"]
    todo: TodoV1 = Field(description="The todo after the change; for 'deleted', its last state.")
