"""The calendars themselves are served from S3 through todo-api, so that a client needs no
AWS credentials; the validators must let a calendar app poll cheaply."""

from dataclasses import replace

from taskoverflow_testing.plugin import AwsWorld
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.calendar_export import CalendarExport
from todo_api.config import Settings

from .conftest import ICAL, consume, request_job


def test_the_result_streams_the_calendar_from_s3(
    settings: Settings, application: TodoApplication, export: CalendarExport, aws: AwsWorld
) -> None:
    client = create_app(replace(settings, aws=aws.settings), application=application).test_client()
    job_id = request_job(client)
    key = f"calendars/default/{job_id}.ics"
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    aws.settings.client("s3").put_object(Bucket=aws.topology.bucket, Key=key, Body=calendar)
    consume(export, "CalendarGenerated", job_id=job_id, bucket=aws.topology.bucket, key=key)
    response = client.get(f"{ICAL}/{job_id}/result")
    assert response.status_code == 200
    assert response.data == calendar
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    etag = response.headers["ETag"]
    again = client.get(f"{ICAL}/{job_id}/result", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_live_feed_is_served_from_s3_with_validators(
    settings: Settings, application: TodoApplication, aws: AwsWorld
) -> None:
    from taskoverflow_events.calendar_keys import feed_key

    client = create_app(replace(settings, aws=aws.settings), application=application).test_client()
    empty = client.get("/api/v1/calendar.ics")
    assert empty.status_code == 200, "before the worker writes one, the feed is an empty calendar"
    assert empty.data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"BEGIN:VEVENT" not in empty.data
    feed = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    aws.settings.client("s3").put_object(
        Bucket=aws.topology.bucket, Key=feed_key("default"), Body=feed
    )
    response = client.get("/api/v1/calendar.ics")
    assert response.status_code == 200
    assert response.data == feed
    assert response.mimetype == "text/calendar"
    assert response.headers["Last-Modified"].endswith("GMT")
    etag = response.headers["ETag"]
    cached = client.get("/api/v1/calendar.ics", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.data == b""
