import json
import uuid
from datetime import datetime

import pytest

from taskoverflow_events import (
    MalformedMessage,
    UnknownEventType,
    UnknownSchemaVersion,
    decode,
    encode,
    new_envelope,
)
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1
from taskoverflow_events.schemas.todo_changed import TodoChangedV1, TodoV1


def todo_changed(**overrides: object) -> TodoChangedV1:
    todo = TodoV1(
        id=7,
        title="Pay rent",
        created_at=datetime(2026, 1, 1, 9, 0, 0),
        updated_at=datetime(2026, 1, 1, 9, 0, 0),
        version=1,
    )
    return TodoChangedV1(change="created", todo=todo.model_copy(update=overrides))


def body_of(**fields: object) -> str:
    envelope = json.loads(encode(new_envelope(todo_changed(), producer="p", owner="o", sequence=1)))
    envelope.update(fields)
    return json.dumps(envelope)


def test_round_trip_keeps_every_field() -> None:
    env = new_envelope(
        CalendarRequestedV1(job_id=uuid.uuid4(), as_of=3),
        producer="todo-api",
        owner="alice",
        correlation_id="req-1",
        sequence=4,
    )
    decoded = decode(encode(env))
    assert decoded.envelope == env
    assert decoded.payload == CalendarRequestedV1.model_validate(env.data)
    assert decoded.job_id == str(env.data["job_id"])


def test_the_registry_names_the_type_and_version_not_the_caller() -> None:
    env = new_envelope(todo_changed(), producer="todo-api", owner="alice")
    assert (env.event_type, env.schema_version) == ("TodoChanged", 1)


def test_occurred_at_is_utc_with_a_z() -> None:
    wire = json.loads(encode(new_envelope(todo_changed(), producer="p", owner="o")))
    assert wire["occurred_at"].endswith("Z")


def test_an_added_field_is_ignored_by_a_tolerant_reader() -> None:
    envelope = json.loads(body_of())
    envelope["data"]["todo"]["priority"] = "high"
    envelope["trace"] = "abc"
    decoded = decode(json.dumps(envelope))
    assert isinstance(decoded.payload, TodoChangedV1)
    assert decoded.payload.todo.title == "Pay rent"


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        ("not json at all", MalformedMessage, "not an event envelope"),
        ("[1, 2]", MalformedMessage, "not an event envelope"),
        (body_of(event_id="nope"), MalformedMessage, "event_id"),
        (body_of(event_type="TodoExploded"), UnknownEventType, "TodoExploded"),
        (body_of(schema_version=9), UnknownSchemaVersion, "v9"),
        (body_of(data={"change": "renamed"}), MalformedMessage, "TodoChanged v1 data is invalid"),
        (
            json.dumps({"Type": "Notification", "Message": body_of()}),
            MalformedMessage,
            "RawMessageDelivery",
        ),
    ],
)
def test_every_undecodable_message_is_poison_with_a_reason(
    body: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        decode(body)
