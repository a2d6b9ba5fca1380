"""GET /api/v1/calendar.ics: the owner's live calendar, for calendar apps to subscribe to.

The ical-worker re-materialises it in S3 after every batch of todo changes; this endpoint only
streams the stored file, answering a matching If-None-Match with 304 so polling apps cost
little. Until the worker has written one, the feed is a valid, empty calendar.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from flask import Blueprint, Response, current_app, g, request, stream_with_context

from taskoverflow_events.calendar_keys import feed_key

bp = Blueprint("calendar_feed", __name__)

CHUNK_BYTES = 64 * 1024
EMPTY_FEED = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Taskoverflow Calendar//taskoverflow//EN\r\n"
    "X-WR-CALNAME:TaskOverflow\r\nREFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n"
    "X-PUBLISHED-TTL:PT15M\r\nEND:VCALENDAR\r\n"
)


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
            return _calendar_response(EMPTY_FEED.encode(), {})
        raise
    headers = {
        "Content-Length": str(obj["ContentLength"]),
        "ETag": obj["ETag"],
        "Last-Modified": obj["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    return _calendar_response(stream_with_context(obj["Body"].iter_chunks(CHUNK_BYTES)), headers)


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
