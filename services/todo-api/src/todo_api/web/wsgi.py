"""The WSGI entry point for gunicorn: `gunicorn "todo_api.web.wsgi:application()"`.

A factory, so nothing is built at import time and each gunicorn worker builds its own app.
"""

from __future__ import annotations

from flask import Flask

from taskoverflow_events import logs
from todo_api.api import create_app
from todo_api.config import Settings


def application() -> Flask:
    settings = Settings.from_env()
    logs.configure("todo-api.web", json=settings.log_json, level=settings.log_level)
    return create_app(settings)
