"""GET /api/v1/events: one owner's events in sequence order, for consumers to catch up on a gap
and to rebuild a projection from scratch. Bodies are served as stored, without re-encoding.

An owner reads their own stream; another service, with the service token, names the owner.
"""

from __future__ import annotations

from flask import Blueprint, Response, g
from werkzeug.exceptions import NotFound

from todo_api.api.auth import SERVICE
from todo_api.api.requests import EventFeedQuery, RequestInvalid
from todo_api.api.todos import app_service

bp = Blueprint("events_feed", __name__)


@bp.get("/events")
def event_feed() -> Response:
    query: EventFeedQuery = g.query
    if g.principal == SERVICE:
        if query.owner is None:
            raise RequestInvalid("owner: is required with the service token")
        owner = query.owner
    else:
        owner = g.owner
        if query.owner is not None and query.owner != owner:
            raise NotFound(f"no event stream {query.owner!r}")
    page, version = app_service().feed(owner, after=query.after, limit=query.limit)
    next_after = page[-1][0] if page else query.after
    body = (
        '{"events":['
        + ",".join(b for _, b in page)
        + f'],"next_after":{next_after},"stream_version":{version}}}\n'  # as jsonify ends
    )
    return Response(body, mimetype="application/json")
