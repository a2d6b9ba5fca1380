"""/api/v1/todos: the classic TaskOverflow contract over the event-sourced application."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.routing import IntegerConverter

from todo_api.api.idempotency import idempotent, keep
from todo_api.api.requests import RequestInvalid, TodoCreate, TodoListQuery, TodoUpdate
from todo_api.api.serialization import etag_for, todo_json
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo, DeleteTodo, UpdateTodo
from todo_api.domain.errors import VersionMismatch
from todo_api.domain.todo import Todo

bp = Blueprint("todos", __name__)
LARGEST_ID = 2**31 - 1


class TodoIdConverter(IntegerConverter):
    """An id beyond the store's 32-bit column becomes 0, which no todo has: a plain 404.

    (A range-checking converter would make werkzeug answer PUT and DELETE with 405.)
    """

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if 0 < number <= LARGEST_ID else 0


def app_service() -> TodoApplication:
    return current_app.extensions["todo_application"]  # type: ignore[no-any-return]


@bp.get("/todos")
def list_todos() -> Response:
    query: TodoListQuery = g.query
    todos = app_service().list(g.owner, completed=query.completed, window_days=query.window)
    return jsonify([todo_json(t) for t in todos])


@bp.post("/todos")
@idempotent
def create_todo() -> Response:
    body = _json_object()
    if "id" in body:
        raise RequestInvalid("id: is assigned by the server and may not be sent")
    fields = TodoCreate.model_validate(body)
    todo = app_service().create(
        g.owner,
        CreateTodo(**fields.model_dump()),
        correlation_id=g.correlation_id,
        also=keep(_created),
    )
    return _created(todo)


@bp.get("/todos/<todo_id:todo_id>")
def get_todo(todo_id: int) -> Response:
    return _with_etag(app_service().get(g.owner, todo_id))


@bp.put("/todos/<todo_id:todo_id>")
def update_todo(todo_id: int) -> Response:
    fields = TodoUpdate.model_validate(_json_object())
    if fields.id is not None and fields.id != todo_id:
        raise RequestInvalid("id: may not be changed")
    command = UpdateTodo(todo_id, fields.changes(), expected_version=_expected_version(todo_id))
    todo = app_service().update(g.owner, command, correlation_id=g.correlation_id)
    return _with_etag(todo)


@bp.delete("/todos/<todo_id:todo_id>")
def delete_todo(todo_id: int) -> Response:
    command = DeleteTodo(todo_id, expected_version=_expected_version(todo_id))
    deleted = app_service().delete(g.owner, command, correlation_id=g.correlation_id)
    return jsonify(todo_json(deleted))


@bp.get("/todos/<todo_id:todo_id>/events")
def todo_history(todo_id: int) -> Response:
    bodies = app_service().history(g.owner, todo_id)
    # Ends in a newline, as jsonify's answers do (a terminal shows the next prompt on its line).
    return Response('{"events":[' + ",".join(bodies) + "]}\n", mimetype="application/json")


# -- helpers ---------------------------------------------------------------------------------


def _with_etag(todo: Todo) -> Response:
    response = jsonify(todo_json(todo))
    response.set_etag(etag_for(todo))
    return response


def _created(todo: Todo) -> Response:
    response = _with_etag(todo)
    response.status_code = 201
    return response


def _json_object() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise RequestInvalid("the request body must be a JSON object")
    return body


def _expected_version(todo_id: int) -> int | None:
    """The version an If-Match header pins the write to; None when the header is absent or '*'."""
    if_match = request.if_match
    if not if_match or if_match.star_tag:
        return None
    current = app_service().get(g.owner, todo_id)
    if if_match.contains(etag_for(current)):
        return current.version
    # Any other tag is stale: make the domain refuse it with the current version in the message.
    raise VersionMismatch(todo_id, expected=None, actual=current.version)
