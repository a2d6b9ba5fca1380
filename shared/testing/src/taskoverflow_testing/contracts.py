"""Check a message against the committed JSON Schemas, the files non-Python consumers read."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from taskoverflow_events.jsonschema_export import SCHEMA_DIR


@cache
def committed_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())  # type: ignore[no-any-return]


def validate_envelope(body: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless the envelope and its data match their schemas."""
    jsonschema.validate(body, committed_schema("Envelope.json"))
    name = f"{body['event_type']}.v{body['schema_version']}.json"
    jsonschema.validate(body["data"], committed_schema(name))
