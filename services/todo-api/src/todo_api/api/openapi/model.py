"""How an operation is described (Answer, Operation), and the answers and headers that several
operations share: errors, the per-owner limits' 429s and the Idempotency-Key's 409 and 422."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from todo_api.api import requests as rq
from todo_api.api import responses as rs

ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
TASK_ID = {"type": "string", "minLength": 1, "maxLength": 100}
CALENDAR = {"text/calendar": {"schema": {"type": "string"}}}


@dataclass(frozen=True, slots=True)
class Answer:
    description: str
    model: Any = None  # a pydantic model, list[model], or None for no JSON body
    content: dict[str, Any] | None = None
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)  # response headers


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    endpoint: str  # the Flask endpoint, so a test can hold this table to the routes
    summary: str
    answers: dict[int, Answer]
    query: type[rq.Query] = rq.NoQuery
    body: type[BaseModel] | None = None
    body_required: bool = True
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # request headers: name -> meaning
    public: bool = False


BAD = Answer("the request is invalid; nothing was changed", rs.Error)
AUTH = Answer("no valid token (AUTH_MODE=token)", rs.Error)
MISSING = Answer("not found, or not the caller's", rs.Error)
TOO_BIG = Answer("the body is over 64 KiB", rs.Error)
STALE = Answer("If-Match names an older version", rs.Error)
STORAGE = Answer("calendar storage is unavailable; retry", rs.Error)
ID_PATH = {"todo_id": ID_SCHEMA}
TASK_PATH = {"task_id": TASK_ID}
IF_MATCH = {"If-Match": "the ETag of the version being changed; a stale one gets 412"}
IF_NONE_MATCH = {"If-None-Match": "the ETag already held; an unchanged calendar gets 304"}

# Per-owner limits and idempotency keys (docs/operating/limits.md).
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the kept answer to an earlier request with the key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
WRITE_LIMIT = Answer(
    "the owner's writes are at their limit (RATE_LIMIT_WRITES_PER_MINUTE); Retry-After",
    rs.Error,
    headers=RETRY_AFTER,
)
CALENDAR_LIMIT = Answer(
    "the owner's calendar requests are at their limit (RATE_LIMIT_CALENDARS_PER_MINUTE), or "
    "its open jobs are (OPEN_JOBS_PER_OWNER: unfinished, or waiting on their webhook); "
    "Retry-After",
    rs.Error,
    headers=RETRY_AFTER,
)
IDEMPOTENT = {
    409: Answer(
        "a request with this Idempotency-Key is still at work; Retry-After",
        rs.Error,
        headers=RETRY_AFTER,
    ),
    422: Answer("this Idempotency-Key was first used with another path or body", rs.Error),
}
IDEMPOTENCY_KEY = {
    "Idempotency-Key": (
        "1 to 255 printable ASCII characters (a UUID, say), unique per request: sent again with "
        "the same request within IDEMPOTENCY_RETENTION_HOURS (24), the first answer comes back"
    )
}
HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 255},
}
