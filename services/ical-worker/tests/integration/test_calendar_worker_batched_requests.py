"""Requests received together are rendered together where they can be, yet each calendar must
be exactly as of its own request, whatever else the projection has applied by then."""

from collections.abc import Callable

from ical_worker.store.tables import rendered_jobs
from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, func, select

from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies

from .conftest import OWNER, TodoApi, applied, calendar_titles, create, deliver


def test_requests_that_arrive_together_share_one_render_per_set_of_options(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    create(todo_api, "Done already", 2, completed=True)
    worker = make_worker()
    worker.apply_todo_changes(todo_api.events())
    jobs = [
        todo_api.calendars.request(OWNER, include_completed=n != 2, callback_url=f"http://h/{n}")
        for n in range(4)
    ]
    requests = todo_api.events()[2:]
    worker.render_calendars(requests)

    published = bodies(calendar_tap.read(8, timeout=10, settle=1.0))
    started = [
        b["data"]["job_id"] for b in published if b["event_type"] == "CalendarGenerationStarted"
    ]
    generated = {
        b["data"]["job_id"]: b for b in published if b["event_type"] == "CalendarGenerated"
    }
    assert sorted(started) == sorted(jobs)
    assert sorted(generated) == sorted(jobs)
    for n, job_id in enumerate(jobs):
        body = generated[job_id]
        validate_envelope(body)
        assert body["correlation_id"] == job_id
        assert body["causation_id"] == str(requests[n].envelope.event_id)
        assert body["data"]["notify"] == f"http://h/{n}"
    keys = {job_id: generated[job_id]["data"]["key"] for job_id in jobs}
    assert keys[jobs[0]] == keys[jobs[1]] == keys[jobs[3]] != keys[jobs[2]]
    assert calendar_titles(aws, keys[jobs[0]]) == ["Pay rent", "[done] Done already"]
    assert calendar_titles(aws, keys[jobs[2]]) == ["Pay rent"]
    listed = aws.settings.client("s3").list_objects_v2(
        Bucket=aws.topology.bucket, Prefix=f"calendars/{OWNER}/"
    )
    assert len(listed["Contents"]) == 2, "one object per set of options"
    with worker_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rendered_jobs)).scalar_one() == 4
    assert applied(worker_engine) == requests[-1].envelope.sequence


def test_requests_with_a_write_between_them_are_rendered_each_as_of_its_own_point(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "first", 1)
    early = todo_api.calendars.request(OWNER)
    create(todo_api, "second", 2)
    late = todo_api.calendars.request(OWNER)
    events = todo_api.events()
    worker = make_worker()
    worker.apply_todo_changes(events[:1])
    # The run skips the write between the requests (it reached the worker apart): not together.
    worker.render_calendars([events[1], events[3]])
    generated = {
        b["data"]["job_id"]: b["data"]["key"]
        for b in bodies(calendar_tap.read(4, timeout=10, settle=1.0))
        if b["event_type"] == "CalendarGenerated"
    }
    assert calendar_titles(aws, generated[early]) == ["first"]
    assert calendar_titles(aws, generated[late]) == ["first", "second"]


def test_a_calendar_is_as_of_its_request_even_when_the_projection_is_ahead(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "before", 1)
    todo_api.calendars.request(OWNER)
    create(todo_api, "after", 2)
    *_earlier, request, later = todo_api.events()
    worker = make_worker()
    deliver(worker, [later])  # a gap: the projection catches up past the request
    deliver(worker, [request])
    generated = [
        b
        for b in bodies(calendar_tap.read(2, timeout=10))
        if b["event_type"] == "CalendarGenerated"
    ]
    assert calendar_titles(aws, generated[0]["data"]["key"]) == ["before"]
