"""What a request may contain, as strict pydantic models: the edge refuses bad input before any
command exists, so nothing is stored for it. Readers of events are tolerant; writers are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from taskoverflow_events.callback_urls import CALLBACK_URL_MAX

TITLE_MAX = 500
DESCRIPTION_MAX = 10_000
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"


# Deadlines outside these years are typos, and near year 1 or 9999 a timezone shift overflows.
DEADLINE_MIN = datetime(1970, 1, 1)
DEADLINE_MAX = datetime(9999, 12, 30, 23, 59, 59)


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 in, naive UTC to the second out (the contract's YYYY-MM-DDTHH:MM:SS)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string like 2026-05-01T09:30:00")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a valid date-time (use YYYY-MM-DDTHH:MM:SS)") from None
    parsed = parsed.replace(microsecond=0)
    if not DEADLINE_MIN <= parsed <= DEADLINE_MAX:
        low, high = (f"{d:{TIMESTAMP_FORMAT}}" for d in (DEADLINE_MIN, DEADLINE_MAX))
        raise ValueError(f"must be between {low} and {high}")
    return parsed


def _title(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
Title = Annotated[
    str, Field(min_length=1, max_length=TITLE_MAX, strict=True), BeforeValidator(_title)
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


def _callback_url(value: Any) -> Any:
    """The URL's shape; whether its host may be called is the view's check (it needs settings)."""
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
    callback_url: Annotated[
        Annotated[str, Field(max_length=CALLBACK_URL_MAX)] | None,
        BeforeValidator(_callback_url),
        Field(description="http(s) URL to POST a signed notice to; internal hosts are refused"),
    ] = None


# -- query strings: every endpoint names its parameters; any other is refused with 400 -------


def _whole_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"must be a whole number, not {value!r}") from None
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ValueError(f"must be true or false, not {value!r}")
    return value


# Field before the validator, or pydantic leaves ge/le out of the JSON Schema (OpenAPI).
Days = Annotated[int, Field(ge=0, le=36_500), BeforeValidator(_whole_number)]
Sequence = Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(_whole_number)]
PageSize = Annotated[int, Field(ge=1, le=1000), BeforeValidator(_whole_number)]
Flag = Annotated[bool, BeforeValidator(_boolean)]


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TodoListQuery(Query):
    completed: Flag | None = Field(None, description="only completed (true) or open (false)")
    window: Days | None = Field(
        None, description="only todos whose deadline is at most this many days ahead"
    )


class EventFeedQuery(Query):
    after: Sequence = Field(0, description="the sequence to read after")
    limit: PageSize = Field(100, description="at most this many events")
    owner: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="whose stream; only a service token may read another owner's"
    )


class CalendarFeedQuery(Query):
    token: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="the owner's feed token, for calendar apps that cannot send headers"
    )


JOB_WAIT_MAX_SECONDS = 20  # a long-poll holds one server thread; keep it short


class JobStatusQuery(Query):
    wait: Annotated[float, Field(ge=0, le=JOB_WAIT_MAX_SECONDS, allow_inf_nan=False)] | None = (
        Field(
            None,
            description="hold the answer up to this many seconds until the job has finished"
            " (SUCCESS or FAILURE), instead of polling",
        )
    )


class NoQuery(Query):
    pass


Q = TypeVar("Q", bound=Query)


def parse_query(model: type[Q], args: Mapping[str, str]) -> Q:
    """The query string as `model`; a repeated parameter counts once (the first)."""
    try:
        return model.model_validate(dict(args))
    except ValidationError as exc:
        raise RequestInvalid(describe(exc, "query parameter")) from None


class RequestInvalid(ValueError):
    """A request the API refuses with 400; the message is safe to show the caller."""


def describe(exc: ValidationError, what: str = "field") -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "extra_forbidden":
            parts.append(f"{field}: unknown {what}")
        elif err["type"] == "missing":
            parts.append(f"{field}: is required")
        else:
            message = err["msg"].removeprefix("Value error, ")
            parts.append(f"{field}: {message}")
    return "; ".join(parts)
