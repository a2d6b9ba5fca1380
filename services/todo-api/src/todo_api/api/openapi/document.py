"""The OpenAPI 3.1 document assembled from the operation tables (todos.py, calendars.py) and the
same pydantic models that check requests and describe answers, so it cannot drift from what the
code accepts."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from todo_api.api import requests as rq
from todo_api.api.openapi.calendars import CALENDAR_OPERATIONS
from todo_api.api.openapi.model import HEADER_SCHEMAS, Answer, Operation
from todo_api.api.openapi.todos import TODO_OPERATIONS

OPERATIONS: tuple[Operation, ...] = TODO_OPERATIONS + CALENDAR_OPERATIONS
# Each endpoint's query model: the web process checks every request's query string against it.
QUERIES: dict[str, type[rq.Query]] = {op.endpoint: op.query for op in OPERATIONS}
REF = "#/components/schemas/{model}"


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


def _response(answer: Answer, defs: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        entry["headers"] = answer.headers
    if answer.model is not None:
        entry["content"] = {"application/json": {"schema": _schema_of(answer.model, defs)}}
    elif answer.content is not None:
        entry["content"] = answer.content
    return entry


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
            "schema": HEADER_SCHEMAS.get(name, {"type": "string"}),
            "description": text,
        }
        for name, text in op.headers.items()
    ]
    responses = {str(status): _response(a, defs) for status, a in sorted(op.answers.items())}
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
                'for an operation is refused with 400. Errors are `{"error": "..."}`. '
                "Each owner's writes and calendar requests are limited per minute, and its "
                "open calendar jobs in number: past a limit the answer is 429 with "
                "Retry-After. POSTs take an `Idempotency-Key` header (as Stripe's API does)."
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
