"""Check a message against the committed JSON Schemas, the files non-Python consumers read."""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from taskoverflow_events import topology
from taskoverflow_events.aws import AwsSettings
from taskoverflow_events.jsonschema_export import SCHEMA_DIR
from taskoverflow_events.publisher import OutgoingMessage, Publisher


@cache
def committed_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())  # type: ignore[no-any-return]


def validate_envelope(body: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless the envelope and its data match their schemas."""
    jsonschema.validate(body, committed_schema("Envelope.json"))
    name = f"{body['event_type']}.v{body['schema_version']}.json"
    jsonschema.validate(body["data"], committed_schema(name))


def samples_dir() -> Path:
    """tests/contract/samples of this checkout: the golden envelopes every reader must accept."""
    return topology.default_path().parent.parent / "tests" / "contract" / "samples"


def sample(event_type: str, version: int = 1, **data: Any) -> dict[str, Any]:
    """A golden envelope with a fresh event_id and, optionally, some of its data replaced."""
    body: dict[str, Any] = json.loads((samples_dir() / event_type / f"v{version}.json").read_text())
    body["event_id"] = str(uuid.uuid4())
    body["data"] |= data
    return body


def publish_verbatim(aws: AwsSettings, topic_arn: str, body: dict[str, Any]) -> None:
    """Put an envelope on a topic exactly as given (extra fields and all), with the attributes a
    producer derives from it, so the subscription filters route it as they would in production."""
    outcome = Publisher(aws.client("sns"), topic_arn).publish_messages(
        [
            OutgoingMessage(
                event_id=uuid.UUID(body["event_id"]),
                event_type=body["event_type"],
                schema_version=body["schema_version"],
                owner=body["owner"],
                body=json.dumps(body),
            )
        ]
    )
    assert not outcome.failed, outcome.failed
