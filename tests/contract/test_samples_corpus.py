"""The committed example corpus: one golden envelope per (event_type, schema_version).

Every version a reader claims must decode from here, through the registry and the upcasters,
and match the committed JSON Schema that non-Python consumers read.
"""

import json
from pathlib import Path

import pytest

from taskoverflow_events import REGISTRY, decode
from taskoverflow_testing.contracts import validate_envelope
from tests.contract.conftest import sample_paths


def test_there_is_a_sample_for_every_registered_version_and_no_other() -> None:
    registered = {(event_type, version) for event_type, version, _ in REGISTRY}
    sampled = {(p.parent.name, int(p.stem.removeprefix("v"))) for p in sample_paths()}
    assert sampled == registered


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: f"{p.parent.name}.{p.stem}")
def test_each_sample_matches_its_json_schema_and_decodes_to_the_current_model(path: Path) -> None:
    body = json.loads(path.read_text())
    validate_envelope(body)
    decoded = decode(path.read_text())
    current = REGISTRY.current_version(body["event_type"])
    assert isinstance(decoded.payload, REGISTRY.model_for(body["event_type"], current))
    if body["schema_version"] == current:
        assert decoded.payload.model_dump(mode="json") == body["data"]


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: f"{p.parent.name}.{p.stem}")
def test_a_field_added_by_a_newer_producer_is_ignored(path: Path) -> None:
    body = json.loads(path.read_text())
    body["data"]["added_in_a_later_release"] = {"anything": [1, 2, 3]}
    body["trace_parent"] = "00-abc-def-01"
    decoded = decode(json.dumps(body))
    assert "added_in_a_later_release" not in decoded.payload.model_dump()
