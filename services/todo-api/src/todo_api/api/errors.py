"""Every error leaves as JSON {"error": "..."} with a 4xx status; a 5xx means a bug or an outage,
never bad input, and its details stay in the log."""

from __future__ import annotations

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, jsonify
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from todo_api.api.auth import Forbidden, Unauthorized
from todo_api.api.calendar_jobs import JobNotReady
from todo_api.api.long_polls import TooManyLongPolls
from todo_api.api.rate_limits import RateLimited
from todo_api.api.requests import RequestInvalid, describe
from todo_api.calendar_export import TooManyOpenJobs
from todo_api.domain.errors import TodoNotFound, VersionMismatch
from todo_api.store.idempotency import KeyInFlight, KeyReused

# Unfinished jobs usually finish within seconds; a client told to wait this long finds room.
OPEN_JOBS_RETRY_AFTER = 5
# PostgreSQL's codes for a lock wait cut off by lock_timeout (WEB_LOCK_TIMEOUT_SECONDS) and a
# statement cut off by statement_timeout (WEB_STATEMENT_TIMEOUT_SECONDS).
TIMED_OUT = frozenset({"55P03", "57014"})
# A wait that timed out is usually another request of the owner's, soon over; an outage, longer.
DATABASE_BUSY_RETRY_AFTER = 2
DATABASE_DOWN_RETRY_AFTER = 5

log = structlog.get_logger("todo_api.api")


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _retry_after(answer: tuple[Response, int], seconds: int) -> tuple[Response, int]:
    answer[0].headers["Retry-After"] = str(seconds)
    return answer


def _sqlstate(exc: Exception) -> str | None:
    """The SQLSTATE of the driver's error under SQLAlchemy's (psycopg2: pgcode), if any."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    return code if isinstance(code, str) else None


def register(app: Flask) -> None:
    @app.errorhandler(RequestInvalid)
    def _invalid(exc: RequestInvalid) -> tuple[Response, int]:
        return error(400, str(exc))

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> tuple[Response, int]:
        return error(400, describe(exc))

    @app.errorhandler(Unauthorized)
    def _unauthorized(exc: Unauthorized) -> tuple[Response, int]:
        response, status = error(401, str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer realm="taskoverflow"'
        return response, status

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden) -> tuple[Response, int]:
        return error(403, str(exc))

    @app.errorhandler(TodoNotFound)
    def _not_found(exc: TodoNotFound) -> tuple[Response, int]:
        return error(404, str(exc))

    @app.errorhandler(VersionMismatch)
    def _stale(exc: VersionMismatch) -> tuple[Response, int]:
        return error(412, str(exc))

    @app.errorhandler(TooManyLongPolls)
    def _too_many(exc: TooManyLongPolls) -> tuple[Response, int]:
        return _retry_after(error(429, str(exc)), 1)

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited) -> tuple[Response, int]:
        return _retry_after(error(429, str(exc)), exc.retry_after)

    @app.errorhandler(TooManyOpenJobs)
    def _too_many_jobs(exc: TooManyOpenJobs) -> tuple[Response, int]:
        return _retry_after(error(429, str(exc)), OPEN_JOBS_RETRY_AFTER)

    @app.errorhandler(KeyInFlight)
    def _key_in_flight(exc: KeyInFlight) -> tuple[Response, int]:
        return _retry_after(error(409, str(exc)), 1)

    @app.errorhandler(KeyReused)
    def _key_reused(exc: KeyReused) -> tuple[Response, int]:
        return error(422, str(exc))

    @app.errorhandler(JobNotReady)
    def _job_not_ready(exc: JobNotReady) -> tuple[Response, int]:
        return error(404, str(exc))

    @app.errorhandler(BotoCoreError)
    @app.errorhandler(ClientError)
    def _storage(exc: Exception) -> tuple[Response, int]:
        log.warning("calendar storage unavailable", error=repr(exc))
        return error(503, "calendar storage is unavailable; try again shortly")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database(exc: Exception) -> tuple[Response, int]:
        # The connection went away (a restart, a failover), the database refused for now, or a
        # statement or lock wait ran out of its time: nothing was committed, and the caller can
        # safely try again (with the same Idempotency-Key: its claim was let go).
        if _sqlstate(exc) in TIMED_OUT:
            log.warning("database statement timed out", error=repr(exc))
            return _retry_after(
                error(
                    503,
                    "the database did not answer in time (another request may hold what this"
                    f" one needs); nothing was changed, retry after {DATABASE_BUSY_RETRY_AFTER} s",
                ),
                DATABASE_BUSY_RETRY_AFTER,
            )
        log.warning("database unavailable", error=repr(exc))
        return _retry_after(
            error(503, "the database is unavailable; nothing was changed, try again shortly"),
            DATABASE_DOWN_RETRY_AFTER,
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error(500, "internal error; see the server log")
