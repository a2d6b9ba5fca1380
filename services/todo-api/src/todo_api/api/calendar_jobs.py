"""/api/v1/todos/ical: the classic calendar-export contract (queue a job, poll it, download it),
now backed by events: the job is a CalendarRequested on the owner's stream, and the file a
claim check in S3 that this endpoint streams back."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    request,
    stream_with_context,
    url_for,
)

from taskoverflow_events.callback_urls import CallbackRefused, check_callback_url, no_lookup
from todo_api.api.idempotency import idempotent, keep
from todo_api.api.long_polls import LongPollSlots
from todo_api.api.requests import CalendarRequestBody, JobStatusQuery, RequestInvalid
from todo_api.api.serialization import stamp
from todo_api.calendar_export import CalendarExport, JobNotFound
from todo_api.store import jobs
from todo_api.store.notifications import JobWatch

bp = Blueprint("calendar_jobs", __name__)

CHUNK_BYTES = 64 * 1024


def export() -> CalendarExport:
    return current_app.extensions["calendar_export"]  # type: ignore[no-any-return]


@bp.post("/todos/ical")
@idempotent
def request_calendar() -> Response:
    body: dict[str, Any] = {}
    if request.get_data(cache=True).strip():
        parsed = request.get_json(force=True, silent=True)
        if not isinstance(parsed, dict):
            raise RequestInvalid("the request body, when sent, must be a JSON object")
        body = parsed
    options = CalendarRequestBody.model_validate(body)
    if options.callback_url is not None:
        settings = current_app.extensions["settings"]
        try:
            # Its form and a literal address only: a name is resolved by the notifier, within
            # its delivery deadline, never in this request's thread (a slow name server would
            # hold it, and the answer would tell the caller what our network's DNS knows).
            check_callback_url(
                options.callback_url, settings.callback_allowed_networks, resolver=no_lookup
            )
        except CallbackRefused as exc:
            raise RequestInvalid(f"callback_url: {exc}") from None
    job_id = export().request(
        g.owner,
        include_completed=options.include_completed,
        callback_url=options.callback_url,
        also=keep(_accepted),
    )
    return _accepted(job_id)


def _accepted(job_id: str) -> Response:
    response = jsonify(
        {"task_id": job_id, "task_url": _external("calendar_jobs.job_status", job_id)}
    )
    response.status_code = 202
    return response


@bp.get("/todos/ical/<task_id>/status")
def job_status(task_id: str) -> Response:
    query: JobStatusQuery = g.query
    job = _job_when_finished(task_id, query.wait) if query.wait else _job(task_id)
    steps = [(jobs.PENDING, job.requested_at), (jobs.STARTED, job.started_at)]
    if job.finished_at:
        steps.append((job.status, job.finished_at))
    timeline = [
        {
            "status": status,
            "at": stamp(at),
            "elapsed_ms": round((at - job.requested_at).total_seconds() * 1000),
        }
        for status, at in steps
        if at is not None
    ]
    error = (
        {"code": job.error_code, "message": job.error_message}
        if job.status == jobs.FAILURE
        else None
    )
    return jsonify(
        {
            "task_id": job.job_id,
            "task_status": job.status,
            "result_url": _external("calendar_jobs.job_result", job.job_id),
            "timeline": timeline,
            "error": error,
            "notified": job.notified,
            "notification": _notification(job),
        }
    )


def _notification(job: jobs.CalendarJob) -> dict[str, Any] | None:
    if job.notification_state is None:
        return None
    return {
        "state": job.notification_state,
        "attempts": job.notification_attempts,
        "status_code": job.notification_status_code,
        "error": job.notification_error,
    }


@bp.get("/todos/ical/<task_id>/result")
def job_result(task_id: str) -> Response:
    job = _job(task_id)
    if job.status != jobs.SUCCESS or not job.bucket or not job.key:
        raise JobNotReady(f"calendar job {task_id} is {job.status}, not SUCCESS")
    s3 = current_app.extensions["s3"]
    kwargs: dict[str, Any] = {"Bucket": job.bucket, "Key": job.key}
    if request.headers.get("If-None-Match"):
        kwargs["IfNoneMatch"] = request.headers["If-None-Match"]
    try:
        obj = s3.get_object(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("304", "NotModified"):
            return Response(status=304)
        if code in ("NoSuchKey", "404"):
            raise JobNotReady(f"the calendar of job {task_id} has expired") from None
        raise
    response = Response(
        stream_with_context(obj["Body"].iter_chunks(CHUNK_BYTES)),
        mimetype="text/calendar",
        headers={
            "Content-Length": str(obj["ContentLength"]),
            "ETag": obj["ETag"],
            "Content-Disposition": f'attachment; filename="taskoverflow-{job.job_id}.ics"',
        },
    )
    response.charset = "utf-8"
    return response


class JobNotReady(LookupError):
    """No calendar to serve (yet): 404, as the classic contract says."""


def _job(task_id: str) -> jobs.CalendarJob:
    try:
        return export().job(g.owner, task_id)
    except JobNotFound as exc:
        raise JobNotReady(str(exc)) from None


def _job_when_finished(task_id: str, wait: float) -> jobs.CalendarJob:
    """The job once it has finished, or as it is after `wait` seconds: one request where a
    polling client would make dozens, each costing the server as much as this whole wait.
    Only so many wait at once (long_polls.py); past that, the job as it is now."""
    watch: JobWatch = current_app.extensions["job_watch"]
    slots: LongPollSlots = current_app.extensions["long_polls"]
    deadline = time.monotonic() + wait
    with slots.slot(g.owner) as granted:
        if not granted:
            return _job(task_id)
        with watch.watching(task_id) as changed:
            while True:
                job = _job(task_id)
                remaining = deadline - time.monotonic()
                if job.status in jobs.FINISHED or remaining <= 0:
                    return job
                changed.wait(min(remaining, watch.recheck_seconds))
                changed.clear()


def _external(endpoint: str, task_id: str) -> str:
    settings = current_app.extensions["settings"]
    if settings.public_url:
        return settings.public_url.rstrip("/") + url_for(endpoint, task_id=task_id)
    return url_for(endpoint, task_id=task_id, _external=True)
