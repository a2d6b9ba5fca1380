"""The todo operations: the classic CRUD contract, a todo's history and the owner's event feed.
Writes answer 429 past the owner's write limit; POST takes an Idempotency-Key."""

from __future__ import annotations

from todo_api.api import requests as rq
from todo_api.api import responses as rs
from todo_api.api.openapi.model import (
    AUTH,
    BAD,
    ID_PATH,
    IDEMPOTENCY_KEY,
    IDEMPOTENT,
    IF_MATCH,
    MISSING,
    REPLAYED,
    STALE,
    TOO_BIG,
    WRITE_LIMIT,
    Answer,
    Operation,
)

TODO_OPERATIONS: tuple[Operation, ...] = (
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
            201: Answer("created; ETag names its version", rs.Todo, headers=REPLAYED),
            400: BAD,
            401: AUTH,
            413: TOO_BIG,
            **IDEMPOTENT,
            429: WRITE_LIMIT,
        },
        body=rq.TodoCreate,
        headers=IDEMPOTENCY_KEY,
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
            429: WRITE_LIMIT,
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
        {
            200: Answer("the todo as it was", rs.Todo),
            400: BAD,
            401: AUTH,
            404: MISSING,
            412: STALE,
            429: WRITE_LIMIT,
        },
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
)
