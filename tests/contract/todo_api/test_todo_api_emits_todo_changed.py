"""todo-api as a producer: what its real web and relay processes put on the FIFO topic validates
against the shared schemas and carries the attributes the ical-worker's subscription filters on."""

import json

from taskoverflow_events import decode
from taskoverflow_events.schemas.todo_changed import TodoChangedV1
from taskoverflow_testing.contracts import validate_envelope
from taskoverflow_testing.plugin import AwsWorld
from taskoverflow_testing.queues import TopicTap
from tests.contract.conftest import TodoApiStack


def test_todo_api_publishes_schema_valid_routable_todo_changed(
    aws: AwsWorld, todo_api: TodoApiStack
) -> None:
    sub = next(
        s for s in aws.topology.subscriptions if s.queue.endswith("ical-worker-todo-events.fifo")
    )
    tap = TopicTap(aws.settings, aws.topic_arn("todo-events.fifo"))  # unfiltered: see everything
    created = todo_api.post(
        "/api/v1/todos", {"title": "Ünïcode ✓ title", "description": "d"}
    ).json()
    todo_api.put(f"/api/v1/todos/{created['id']}", {"completed": True, "deadline_at": None})
    todo_api.delete(f"/api/v1/todos/{created['id']}")
    messages = tap.read(3, timeout=20, settle=1.0)
    assert len(messages) == 3, todo_api.relay.log()
    for message in messages:
        body = json.loads(message["Body"])
        validate_envelope(body)
        decoded = decode(message["Body"])
        assert isinstance(decoded.payload, TodoChangedV1)
        attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attrs["event_type"] == body["event_type"] in sub.event_types
        assert attrs["schema_version"] == str(body["schema_version"])
        assert attrs["owner"] == body["owner"]
        assert body["producer"] == "todo-api"
    assert [json.loads(m["Body"])["data"]["change"] for m in messages] == [
        "created",
        "updated",
        "deleted",
    ]
