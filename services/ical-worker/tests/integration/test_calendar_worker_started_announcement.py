"""A client watches for CalendarGenerationStarted, so a quick render may send it along with its
outcome in one publish, but a slow render must announce it on its own while it runs."""

import threading
from collections.abc import Callable, Sequence

from ical_worker.worker.calendar_worker import CalendarWorker
from sqlalchemy import Engine, text

from taskoverflow_events import Envelope
from taskoverflow_events.publisher import Publisher
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap, bodies

from .conftest import OWNER, TodoApi, create, deliver


class RecordingPublisher(Publisher):
    """The real publisher (to moto, over HTTP) that also remembers what each call carried."""

    def __init__(self, aws: AwsWorld) -> None:
        super().__init__(aws.settings.client("sns"), aws.topic_arn("calendar-events"))
        self.calls: list[list[str]] = []

    def publish_all(self, envelopes: Sequence[Envelope]) -> None:
        self.calls.append([e.event_type for e in envelopes])
        super().publish_all(envelopes)


def test_a_quick_render_sends_its_started_in_the_outcomes_publish(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    todo_api.calendars.request(OWNER)
    publisher = RecordingPublisher(aws)
    deliver(make_worker(publisher=publisher, announce_after_seconds=30), todo_api.events())
    assert publisher.calls == [["CalendarGenerationStarted", "CalendarGenerated"]]
    by_type = {b["event_type"]: b for b in bodies(calendar_tap.read(2, timeout=10))}
    assert sorted(by_type) == ["CalendarGenerated", "CalendarGenerationStarted"]
    started, generated = by_type["CalendarGenerationStarted"], by_type["CalendarGenerated"]
    assert started["occurred_at"] <= generated["occurred_at"], "stamped when the render began"


def test_a_slow_render_announces_started_on_its_own_while_it_runs(
    todo_api: TodoApi,
    make_worker: Callable[..., CalendarWorker],
    worker_engine: Engine,
    aws: AwsWorld,
    calendar_tap: TopicTap,
) -> None:
    create(todo_api, "Pay rent", 1)
    job_id = todo_api.calendars.request(OWNER)
    publisher = RecordingPublisher(aws)
    worker = make_worker(publisher=publisher, announce_after_seconds=0.2)
    worker.apply_todo_changes(todo_api.events()[:1])
    request = todo_api.events()[-1]
    with worker_engine.connect() as blocker:
        # The worker writes the object, then waits here to record the job: a slow render.
        blocker.execute(text("LOCK TABLE rendered_jobs IN SHARE MODE"))
        rendering = threading.Thread(target=worker.render_calendar, args=(request,))
        rendering.start()
        [started] = bodies(calendar_tap.read(1, timeout=10))
        assert started["event_type"] == "CalendarGenerationStarted"
        assert started["data"]["job_id"] == job_id
        assert rendering.is_alive(), "announced while the render was still going"
        blocker.rollback()
    rendering.join(timeout=10)
    [generated] = bodies(calendar_tap.read(1, timeout=10, settle=0.5))
    assert generated["event_type"] == "CalendarGenerated"
    assert publisher.calls == [["CalendarGenerationStarted"], ["CalendarGenerated"]]
