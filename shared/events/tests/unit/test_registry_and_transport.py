from datetime import datetime

import pytest

from taskoverflow_events import REGISTRY, UnknownEventType, new_envelope, quotas
from taskoverflow_events.schemas.calendar_generation_started import CalendarGenerationStartedV1
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1
from taskoverflow_events.schemas.todo_changed import TodoChangedV1
from taskoverflow_events.transport import (
    FILTER_ATTRIBUTES,
    attributes_for,
    fifo_fields,
    message_group,
)

DESIGN_EVENTS = {
    "TodoChanged",
    "CalendarRequested",
    "CalendarGenerationStarted",
    "CalendarGenerated",
    "CalendarGenerationFailed",
    "CalendarReady",
}


def test_every_event_in_the_design_catalogue_is_registered_at_v1() -> None:
    assert set(REGISTRY.event_types()) == DESIGN_EVENTS
    for event_type in DESIGN_EVENTS:
        assert REGISTRY.model_for(event_type, 1).__name__.endswith("V1")


def test_an_unregistered_type_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        REGISTRY.current_version("TodoDeleted")


def test_registering_the_same_version_twice_is_a_programming_error() -> None:
    from taskoverflow_events import EventRegistry

    registry = EventRegistry()
    registry.register("X", 1, CalendarGenerationStartedV1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("X", 1, CalendarGenerationStartedV1)


def test_filter_attributes_repeat_the_envelope() -> None:
    env = new_envelope(
        CalendarGenerationStartedV1(job_id="0b9c1a4e-5b7c-4d6e-8f90-1a2b3c4d5e6f"),
        producer="ical-worker",
        owner="bob",
        occurred_at=datetime(2026, 1, 1),
    )
    attrs = attributes_for(env)
    assert set(attrs) == set(FILTER_ATTRIBUTES)
    assert attrs["event_type"] == {"DataType": "String", "StringValue": "CalendarGenerationStarted"}
    assert attrs["schema_version"] == {"DataType": "Number", "StringValue": "1"}
    assert attrs["owner"] == {"DataType": "String", "StringValue": "bob"}
    assert fifo_fields(env) == {
        "MessageGroupId": "bob",
        "MessageDeduplicationId": str(env.event_id),
    }


def test_an_owners_calendar_requests_travel_beside_its_changes_not_behind_them() -> None:
    request = new_envelope(
        CalendarRequestedV1(job_id="0b9c1a4e-5b7c-4d6e-8f90-1a2b3c4d5e6f", as_of=3),
        producer="todo-api",
        owner="bob",
        sequence=4,
    )
    todo = {"id": 1, "title": "t", "description": None, "completed": False,
            "deadline_at": None, "created_at": "2026-11-20T08:00:00",
            "updated_at": "2026-11-20T08:00:00", "version": 1}  # fmt: skip
    change = new_envelope(
        TodoChangedV1.model_validate({"change": "created", "todo": todo}),
        producer="todo-api",
        owner="bob",
        sequence=3,
    )
    assert message_group(change) == "bob"
    assert message_group(request) == "bob#calendars"
    assert quotas.message_group_problem(message_group(request)) is None
    # No owner can be named like another owner's calendar group ("bob.calendars" may be).
    taken = new_envelope(
        TodoChangedV1.model_validate({"change": "created", "todo": todo}),
        producer="todo-api",
        owner="bob.calendars",
        sequence=1,
    )
    assert message_group(taken) != message_group(request)
