"""The todo-api web process: `create_app` is its composition root for Flask."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import structlog
from flask import Flask, Response, g, jsonify, request
from sqlalchemy import Engine
from swagger_ui import api_doc

from taskoverflow_events.persistence import make_engine
from todo_api.api import calendar_feed, calendar_jobs, errors, events_feed, openapi, todos
from todo_api.api.auth import OWNER, authenticate
from todo_api.api.idempotency import IdempotencyKeys
from todo_api.api.long_polls import LongPollSlots
from todo_api.api.rate_limits import CALENDARS, WRITES, OwnerRateLimits
from todo_api.api.requests import parse_query
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings
from todo_api.store.notifications import JobWatch

API_PREFIX = "/api/v1"
# A caller's X-Request-ID becomes every event's correlation_id (a 100-character column): one
# that is too long or not plain printable ASCII is replaced, never stored and never a 5xx.
REQUEST_ID = re.compile(r"[!-~]{1,100}")
STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None, *, application: TodoApplication | None = None
) -> Flask:
    """Rate limits and idempotency keys keep the application's clock, so a test that gives the
    application a clock it moves by hand moves them too."""
    settings = settings or Settings.from_env()
    application = application or TodoApplication(web_engine(settings))
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.converters["todo_id"] = todos.TodoIdConverter
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["settings"] = settings
    app.extensions["todo_application"] = application
    app.extensions["calendar_export"] = CalendarExport(
        application.engine,
        max_open_jobs=settings.open_jobs_per_owner,
        notification_deadline_seconds=settings.notification_deadline_seconds,
        job_deadline_seconds=settings.job_deadline_seconds,
    )
    rate_limits = OwnerRateLimits(
        application.engine,
        {
            WRITES: settings.rate_limit_writes_per_minute,
            CALENDARS: settings.rate_limit_calendars_per_minute,
        },
        application.clock,
    )
    app.extensions["idempotency_keys"] = IdempotencyKeys(
        application.engine, application.clock, settings.idempotency_retention_hours
    )
    app.extensions["job_watch"] = JobWatch(application.engine)
    app.extensions["long_polls"] = LongPollSlots(
        total=settings.long_poll_max, per_owner=settings.long_poll_max_per_owner
    )
    app.extensions["s3"] = settings.aws.client("s3")

    @app.before_request
    def _bind_request() -> None:
        structlog.contextvars.clear_contextvars()
        g.correlation_id = _request_id(request.headers.get("X-Request-ID"))
        structlog.contextvars.bind_contextvars(correlation_id=g.correlation_id, path=request.path)
        authenticate(settings, application.engine)
        structlog.contextvars.bind_contextvars(owner=g.owner)
        if g.principal == OWNER:
            rate_limits.check(g.owner, request.endpoint or "")
        # API operations refuse query parameters they do not list; pages and assets ignore them.
        query_model = openapi.QUERIES.get(request.endpoint or "")
        g.query = parse_query(query_model, request.args) if query_model else None

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        if "correlation_id" in g:
            response.headers["X-Request-ID"] = g.correlation_id
        return response

    @app.get("/health")
    @app.get(f"{API_PREFIX}/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/")
    def index() -> Response:
        return app.send_static_file("index.html")

    @app.get(f"{API_PREFIX}/openapi.json", endpoint="openapi")
    def openapi_document() -> Response:
        return jsonify(openapi.document())

    api_doc(
        app,
        config=openapi.document(),
        url_prefix=f"{API_PREFIX}/docs",
        title="TaskOverflow API",
    )
    app.register_blueprint(todos.bp, url_prefix=API_PREFIX)
    app.register_blueprint(events_feed.bp, url_prefix=API_PREFIX)
    app.register_blueprint(calendar_jobs.bp, url_prefix=API_PREFIX)
    app.register_blueprint(calendar_feed.bp, url_prefix=API_PREFIX)
    errors.register(app)
    return app


def web_engine(settings: Settings) -> Engine:
    """The web process's engine, its statements and lock waits bounded: a request that waits
    behind another (an owner's stream row held) answers 503 within WEB_LOCK_TIMEOUT_SECONDS
    rather than hanging, and well before its Idempotency-Key claim could be taken over as dead.
    (PostgreSQL only: on SQLite, `make run`, a writer waits at most 30 s for the write lock.)"""
    return make_engine(
        settings.database_url,
        password=settings.database_password,
        statement_timeout_ms=int(settings.web_statement_timeout_seconds * 1000),
        lock_timeout_ms=int(settings.web_lock_timeout_seconds * 1000),
    )


def _request_id(given: str | None) -> str:
    if given and REQUEST_ID.fullmatch(given):
        return given
    return str(uuid.uuid4())
