"""Generate the committed JSON Schemas (jsonschema/<EventType>.v<N>.json) from the models.

Non-Python consumers read these files; a test regenerates them and fails on any difference, so
the committed schemas can never drift from the code. Run `make schemas` after changing a model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from taskoverflow_events.envelope import Envelope
from taskoverflow_events.registry import REGISTRY, EventRegistry

SCHEMA_DIR = Path(__file__).parent / "jsonschema"


def render_all(registry: EventRegistry = REGISTRY) -> dict[str, str]:
    """File name -> file text, for every registered version and the envelope."""
    files = {"Envelope.json": _dump(Envelope.model_json_schema(), "Envelope")}
    for event_type, version, model in registry:
        schema = model.model_json_schema()
        schema["x-event-type"] = event_type
        schema["x-schema-version"] = version
        files[f"{event_type}.v{version}.json"] = _dump(schema, f"{event_type}.v{version}")
    return files


def _dump(schema: dict[str, object], name: str) -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    files = render_all()
    stale = [
        n
        for n, text in files.items()
        if not (SCHEMA_DIR / n).is_file() or (SCHEMA_DIR / n).read_text() != text
    ]
    extra = sorted(p.name for p in SCHEMA_DIR.glob("*.json") if p.name not in files)
    if args.check:
        for name in stale + extra:
            print(f"stale: {name}")
        return 1 if stale or extra else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name in stale:
        (SCHEMA_DIR / name).write_text(files[name])
        print(f"wrote {name}")
    for name in extra:
        (SCHEMA_DIR / name).unlink()
        print(f"removed {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
