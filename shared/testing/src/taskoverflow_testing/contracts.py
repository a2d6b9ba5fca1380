"""Check a message against the committed JSON Schemas, the files non-Python consumers read."""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from taskoverflow_events import topology
from taskoverflow_events.jsonschema_export import SCHEMA_DIR


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
