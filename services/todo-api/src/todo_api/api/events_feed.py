"""GET /api/v1/events: one owner's events in sequence order, for consumers to catch up on a gap
and to rebuild a projection from scratch. Bodies are served as stored, without re-encoding."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from todo_api.api.requests import RequestInvalid
from todo_api.api.todos import app_service

bp = Blueprint("events_feed", __name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@bp.get("/events")
def event_feed() -> Response:
    after = _non_negative("after", 0)
    limit = _non_negative("limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestInvalid(f"limit: must be between 1 and {MAX_LIMIT}")
    page, version = app_service().feed(g.owner, after=after, limit=limit)
    next_after = page[-1][0] if page else after
    body = (
        '{"events":['
        + ",".join(b for _, b in page)
        + f'],"next_after":{next_after},"stream_version":{version}}}'
    )
    return Response(body, mimetype="application/json")


def _non_negative(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestInvalid(f"{name}: must be a whole number, not {raw!r}") from None
    if value < 0:
        raise RequestInvalid(f"{name}: must be >= 0")
    return value
