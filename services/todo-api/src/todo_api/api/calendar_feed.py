"""GET /api/v1/calendar.ics: the owner's live calendar, for calendar apps to subscribe to.

The ical-worker rewrites it in S3 soon after the owner's todos change (at most once a second by
default); this endpoint only streams the stored file, answering a matching If-None-Match with 304
so polling apps cost little.

A missing feed is never answered with an empty calendar unless the owner has never written
anything: a calendar app would take an empty 200 as "every event was deleted" and remove them
all from the user's calendar. For an owner who has written something the feed is missing only
until the worker writes it (a first write moments ago, or an object lost from the bucket, which
the worker's sweep finds and renders again), so that is 503 with Retry-After, and the app keeps
what it has and asks again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context

from taskoverflow_events.calendar_keys import feed_key
from todo_api.store import event_store

bp = Blueprint("calendar_feed", __name__)

CHUNK_BYTES = 64 * 1024
EMPTY_FEED = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Taskoverflow Calendar//taskoverflow//EN\r\n"
    "X-WR-CALNAME:TaskOverflow\r\nREFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n"
    "X-PUBLISHED-TTL:PT15M\r\nEND:VCALENDAR\r\n"
)
# A feed is missing for about a second after an owner's first write, or until the worker's next
# sweep (every 5 minutes by default) after an object was lost; calendar apps poll every 15.
RETRY_AFTER_SECONDS = 60


@bp.get("/calendar.ics")
def live_calendar() -> Response:
    settings = current_app.extensions["settings"]
    kwargs: dict[str, Any] = {
        "Bucket": settings.aws.name_prefix + settings.calendar_bucket,
        "Key": feed_key(g.owner),
    }
    if request.headers.get("If-None-Match"):
        kwargs["IfNoneMatch"] = request.headers["If-None-Match"]
    try:
        obj = current_app.extensions["s3"].get_object(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("304", "NotModified"):
            return Response(status=304, headers={"ETag": request.headers["If-None-Match"]})
        if code in ("NoSuchKey", "404"):
            return _missing_feed()
        raise
    headers = {
        "Content-Length": str(obj["ContentLength"]),
        "ETag": obj["ETag"],
        "Last-Modified": obj["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    return _calendar_response(stream_with_context(obj["Body"].iter_chunks(CHUNK_BYTES)), headers)


def _missing_feed() -> Response:
    """The empty calendar is true only for an owner who has never written anything."""
    engine = current_app.extensions["todo_application"].engine
    with engine.connect() as conn:
        version = event_store.stream_version(conn, g.owner)
    if version == 0:
        return _calendar_response(EMPTY_FEED.encode(), {})
    response = jsonify({"error": "the calendar feed is being written; try again shortly"})
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _calendar_response(body: Any, headers: dict[str, str]) -> Response:
    response = Response(
        body,
        mimetype="text/calendar",
        headers={
            **headers,
            "Content-Disposition": 'inline; filename="taskoverflow.ics"',
            "Cache-Control": "private, max-age=60",
        },
    )
    response.charset = "utf-8"
    return response
