"""The reference pages, generated from the code each time the site is built (mkdocs-gen-files):
the HTTP API from the OpenAPI document todo-api serves, the event catalogue from the committed
JSON Schemas and golden samples, and the latest benchmark plot. Nothing here is typed by hand,
so the reference cannot drift from what the code does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mkdocs_gen_files

from taskoverflow_events.jsonschema_export import SCHEMA_DIR
from todo_api.api import openapi

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "contract" / "samples"


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    kind = schema.get("type", "any")
    if "enum" in schema:
        return " / ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    return str(kind) + (f" ({schema['format']})" if "format" in schema else "")


def _fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, spec in schema.get("properties", {}).items():
        meaning = str(spec.get("description", "")).replace("|", "\\|").replace("\n", " ")
        mark = "yes" if name in required else ""
        rows.append(f"| `{name}` | {_type(spec)} | {mark} | {meaning} |")
    return rows


def http_api() -> str:
    document = openapi.document()
    lines = [
        "# HTTP API",
        "",
        "Generated from the OpenAPI document todo-api serves at `GET /api/v1/openapi.json`",
        f"(OpenAPI {document['openapi']}), itself generated from the pydantic models that check",
        "requests and describe answers; browse it live at `/api/v1/docs/`.",
        "",
    ]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            lines += [f"## `{method.upper()} {path}`", "", op.get("summary", ""), ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| parameter | in | type | meaning |", "|---|---|---|---|"]
                for p in params:
                    meaning = str(p.get("description", "")).replace("|", "\\|")
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | {meaning} |"
                    )
                lines.append("")
            lines += ["| status | meaning |", "|---|---|"]
            for status, answer in op.get("responses", {}).items():
                lines.append(f"| {status} | {answer.get('description', '')} |")
            lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines += [f"### {name}", "", *_fields(schema), ""]
    return "\n".join(lines) + "\n"


def events() -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated from the committed JSON Schemas (`shared/events/src/taskoverflow_events/",
        "jsonschema/`, themselves generated from the event models and held to them by a test)",
        "and the golden samples every consumer is tested against (`tests/contract/samples/`).",
        "Every message body is the envelope below with one event's `data`.",
        "",
    ]
    envelope = json.loads((SCHEMA_DIR / "Envelope.json").read_text())
    lines += ["## The envelope", "", *_fields(envelope), ""]
    for path in sorted(SCHEMA_DIR.glob("*.v*.json")):
        schema = json.loads(path.read_text())
        event_type, version = schema["x-event-type"], schema["x-schema-version"]
        lines += [f"## {event_type} v{version}", ""]
        if schema.get("description"):
            lines += [schema["description"], ""]
        lines += _fields(schema)
        sample = SAMPLES / event_type / f"v{version}.json"
        if sample.exists():
            lines += ["", "A golden sample:", "", "```json", sample.read_text().strip(), "```"]
        lines.append("")
    return "\n".join(lines) + "\n"


with mkdocs_gen_files.open("reference/http-api.md", "w") as page:
    page.write(http_api())
with mkdocs_gen_files.open("reference/events.md", "w") as page:
    page.write(events())
# The newest full `make bench` run kept in bench/results, as the bench wrote it (its date and
# machine in its first lines), and its plot.
RESULTS = REPO / "bench" / "results"
newest = sorted(RESULTS.glob("20*.md"))[-1]
with mkdocs_gen_files.open("benchmarks/latest-run.md", "w") as page:
    page.write("# The latest run, as `make bench` wrote it\n\n")
    page.write(f"From `bench/results/{newest.name}`.\n\n")
    page.write(newest.read_text().replace("## Benchmark", "Benchmark", 1))
    page.write("\n![calendar latency and render cost](../images/bench-latest.png)\n")
with mkdocs_gen_files.open("images/bench-latest.png", "wb") as image:
    image.write(newest.with_suffix(".png").read_bytes())
