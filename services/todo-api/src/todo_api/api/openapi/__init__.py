"""The OpenAPI 3.1 document of the HTTP API, split by concern: how an operation is described
(model.py), the todo and calendar operations (todos.py, calendars.py), and the document's
assembly (document.py). A test holds OPERATIONS to the app's routes; schemathesis holds the
answers to the document."""

from todo_api.api.openapi.document import OPERATIONS, QUERIES, document

__all__ = ["OPERATIONS", "QUERIES", "document"]
