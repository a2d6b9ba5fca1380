"""What a request may contain, as strict pydantic models: the edge refuses bad input before any
command exists, so nothing is stored for it. Readers of events are tolerant; writers are not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

TITLE_MAX = 500
DESCRIPTION_MAX = 10_000
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 in, naive UTC to the second out (the contract's YYYY-MM-DDTHH:MM:SS)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string like 2026-05-01T09:30:00")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date-time (use YYYY-MM-DDTHH:MM:SS)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def _title(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
Title = Annotated[
    str, BeforeValidator(_title), Field(min_length=1, max_length=TITLE_MAX, strict=True)
]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_MAX, strict=True)]


class TodoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = None
    completed: StrictBool = False
    deadline_at: Timestamp = None


class TodoUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[int, Field(strict=True)] | None = None
    title: Title | None = None
    description: Description = None
    completed: StrictBool | None = None
    deadline_at: Timestamp = None

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent; an explicit null clears description or deadline."""
        sent = self.model_dump(exclude_unset=True, exclude={"id"})
        for name in ("title", "completed"):
            if name in sent and sent[name] is None:
                raise RequestInvalid(f"{name}: may not be null")
        return sent


CALLBACK_URL_MAX = 2000


def _callback_url(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string URL")
    if len(value) > CALLBACK_URL_MAX:
        raise ValueError(f"must be at most {CALLBACK_URL_MAX} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    return value


class CalendarRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_completed: StrictBool = True
    callback_url: Annotated[str | None, BeforeValidator(_callback_url)] = None


class RequestInvalid(ValueError):
    """A request the API refuses with 400; the message is safe to show the caller."""


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "extra_forbidden":
            parts.append(f"{field}: unknown field")
        elif err["type"] == "missing":
            parts.append(f"{field}: is required")
        else:
            message = err["msg"].removeprefix("Value error, ")
            parts.append(f"{field}: {message}")
    return "; ".join(parts)
