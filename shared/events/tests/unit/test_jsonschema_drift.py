"""The committed JSON Schemas are what the models generate today; `make schemas` fixes drift."""

import json

from taskoverflow_events import REGISTRY
from taskoverflow_events.jsonschema_export import SCHEMA_DIR, render_all


def test_committed_schemas_match_the_models() -> None:
    expected = render_all()
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(committed) == sorted(expected), "run `make schemas`"
    for name, text in expected.items():
        assert committed[name] == text, f"{name} drifted from its model: run `make schemas`"


def test_there_is_a_schema_for_every_registered_version() -> None:
    for event_type, version, _model in REGISTRY:
        schema = json.loads((SCHEMA_DIR / f"{event_type}.v{version}.json").read_text())
        assert schema["x-event-type"] == event_type
        assert schema["x-schema-version"] == version
