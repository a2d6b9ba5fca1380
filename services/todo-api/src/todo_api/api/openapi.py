"""The OpenAPI 3.1 document, generated from the same pydantic models that check requests and
describe answers, so it cannot drift from what the code accepts. A test holds the operation table
to the app's routes; schemathesis holds the answers to the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from todo_api.api import requests as rq
from todo_api.api import responses as rs

REF = "#/components/schemas/{model}"
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
TASK_ID = {"type": "string", "minLength": 1, "maxLength": 100}
CALENDAR = {"text/calendar": {"schema": {"type": "string"}}}


@dataclass(frozen=True, slots=True)
class Answer:
    description: str
    model: Any = None  # a pydantic model, list[model], or None for no JSON body
    content: dict[str, Any] | None = None


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
    headers: dict[str, str] = field(default_factory=dict)
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

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/api/v1/health",
        "health",
        "Liveness of the web process",
        {200: Answer("up", rs.Health)},
        public=True,
    ),
    Operation(
        "get",
        "/api/v1/todos",
        "todos.list_todos",
        "List todos, oldest first",
        {200: Answer("the todos", list[rs.Todo]), 400: BAD, 401: AUTH},
        query=rq.TodoListQuery,
    ),
    Operation(
        "post",
        "/api/v1/todos",
        "todos.create_todo",
        "Create a todo",
        {
            201: Answer("created; ETag names its version", rs.Todo),
            400: BAD,
            401: AUTH,
            413: TOO_BIG,
        },
        body=rq.TodoCreate,
    ),
    Operation(
        "get",
        "/api/v1/todos/{todo_id}",
        "todos.get_todo",
        "One todo",
        {
            200: Answer("the todo; ETag names its version", rs.Todo),
            400: BAD,
            401: AUTH,
            404: MISSING,
        },
        path_params=ID_PATH,
    ),
    Operation(
        "put",
        "/api/v1/todos/{todo_id}",
        "todos.update_todo",
        "Change the fields sent; null clears description or deadline_at",
        {
            200: Answer("the changed todo", rs.Todo),
            400: BAD,
            401: AUTH,
            404: MISSING,
            412: STALE,
            413: TOO_BIG,
        },
        body=rq.TodoUpdate,
        path_params=ID_PATH,
        headers=IF_MATCH,
    ),
    Operation(
        "delete",
        "/api/v1/todos/{todo_id}",
        "todos.delete_todo",
        "Delete a todo",
        {200: Answer("the todo as it was", rs.Todo), 400: BAD, 401: AUTH, 404: MISSING, 412: STALE},
        path_params=ID_PATH,
        headers=IF_MATCH,
    ),
    Operation(
        "get",
        "/api/v1/todos/{todo_id}/events",
        "todos.todo_history",
        "A todo's events",
        {
            200: Answer("its events, oldest first", rs.TodoHistory),
            400: BAD,
            401: AUTH,
            404: MISSING,
        },
        path_params=ID_PATH,
    ),
    Operation(
        "get",
        "/api/v1/events",
        "events_feed.event_feed",
        "The owner's events by sequence, for catching up and rebuilding projections",
        {
            200: Answer("a page of events", rs.EventPage),
            400: BAD,
            401: AUTH,
            403: Answer("this token may not read the feed", rs.Error),
            404: MISSING,
        },
        query=rq.EventFeedQuery,
    ),
    Operation(
        "post",
        "/api/v1/todos/ical",
        "calendar_jobs.request_calendar",
        "Ask for an iCalendar file of the todos as they are now",
        {202: Answer("the job is queued", rs.JobAccepted), 400: BAD, 401: AUTH, 413: TOO_BIG},
        body=rq.CalendarRequestBody,
        body_required=False,
    ),
    Operation(
        "get",
        "/api/v1/todos/ical/{task_id}/status",
        "calendar_jobs.job_status",
        "A calendar job's progress",
        {
            200: Answer("the job", rs.JobStatus),
            400: BAD,
            401: AUTH,
            404: MISSING,
            429: Answer("the caller's own long-polls are at their limit; Retry-After", rs.Error),
        },
        query=rq.JobStatusQuery,
        path_params=TASK_PATH,
    ),
    Operation(
        "get",
        "/api/v1/todos/ical/{task_id}/result",
        "calendar_jobs.job_result",
        "A finished job's calendar",
        {
            200: Answer("the calendar", content=CALENDAR),
            304: Answer("unchanged"),
            400: BAD,
            401: AUTH,
            404: Answer("no such job, or not finished", rs.Error),
            503: STORAGE,
        },
        path_params=TASK_PATH,
        headers=IF_NONE_MATCH,
    ),
    Operation(
        "get",
        "/api/v1/calendar.ics",
        "calendar_feed.live_calendar",
        "The owner's live calendar, to subscribe to",
        {
            200: Answer("the calendar", content=CALENDAR),
            304: Answer("unchanged"),
            400: BAD,
            401: AUTH,
            503: Answer(
                "the feed is being written (Retry-After), or calendar storage is unavailable",
                rs.Error,
            ),
        },
        query=rq.CalendarFeedQuery,
        headers=IF_NONE_MATCH,
    ),
)


# Each endpoint's query model: the web process checks every request's query string against it.
QUERIES: dict[str, type[rq.Query]] = {op.endpoint: op.query for op in OPERATIONS}


def _schema_of(model: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {"$ref": REF.format(model=model.__name__)}
    schema = TypeAdapter(model).json_schema(ref_template=REF, mode="serialization")
    defs.update(schema.pop("$defs", {}))
    return schema


def _query_parameters(query: type[rq.Query]) -> list[dict[str, Any]]:
    schema = query.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        # A query parameter is absent rather than null: keep the non-null branch.
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
                **({"description": description} if description else {}),
            }
        )
    return parameters


def _operation(op: Operation, defs: dict[str, Any]) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in op.path_params.items()
    ]
    parameters += _query_parameters(op.query)
    parameters += [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in op.headers.items()
    ]
    responses: dict[str, Any] = {}
    for status, answer in sorted(op.answers.items()):
        entry: dict[str, Any] = {"description": answer.description}
        if answer.model is not None:
            entry["content"] = {"application/json": {"schema": _schema_of(answer.model, defs)}}
        elif answer.content is not None:
            entry["content"] = answer.content
        responses[str(status)] = entry
    document: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": _schema_of(op.body, defs)}},
        }
    if op.public:
        document["security"] = []
    return document


@cache
def document(version: str = "1.0.0") -> dict[str, Any]:
    models = {a.model for op in OPERATIONS for a in op.answers.values()} | {
        op.body for op in OPERATIONS
    }
    named = sorted(
        (m for m in models if isinstance(m, type) and issubclass(m, BaseModel)),
        key=lambda m: m.__name__,
    )
    # Requests are described as accepted (validation), answers as produced (serialization).
    modes = [(m, "validation" if m.__module__ == rq.__name__ else "serialization") for m in named]
    _, schemas = models_json_schema(modes, ref_template=REF)  # type: ignore[arg-type]
    defs: dict[str, Any] = dict(schemas.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TaskOverflow API",
            "version": version,
            "description": (
                "Todos as an event-sourced service, and calendars made from them by events. "
                "With AUTH_MODE=token every call but health needs `Authorization: Bearer "
                "<token>` (`todo-api-owners create NAME` prints one); the calendar feed also "
                "takes the read-only feed token as `?token=`. A query parameter not listed "
                'for an operation is refused with 400. Errors are `{"error": "..."}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "feedToken": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{"bearer": []}, {}],
    }
