"""Which schema version of each event type producers write: the rule that lets a deploy run old
and new processes side by side (ADR 7).

ECS replaces tasks one at a time, so for a while a new producer runs beside an old consumer and an
old producer beside a new consumer, and an old consumer dead-letters a version it does not know.
A new version therefore ships in two releases (expand, then contract):
1. the release that adds version N+1 teaches every consumer to read it (model, upcaster, sample)
   while producers go on writing version N;
2. the next release, once no process of the one before is left, writes N+1.

`WRITE_VERSIONS` is what this release writes; `PREVIOUS_RELEASE_READS` is the newest version of
each type the release before could read, and a test holds the first to the second. An operator may
write a newer version early with EVENT_WRITE_VERSIONS (e.g. `CalendarReady=2`) once every process
runs this release; `make run` and a fresh environment may do so from the start.
"""

from __future__ import annotations

from collections.abc import Mapping

from taskoverflow_events.errors import UnknownEventType, UnknownSchemaVersion
from taskoverflow_events.registry import REGISTRY, EventRegistry

# CalendarReady v2 (a notification's fate; job status now comes from the calendar events) is
# read by this release and written from the next one on.
WRITE_VERSIONS: Mapping[str, int] = {
    "TodoChanged": 1,
    "CalendarRequested": 1,
    "CalendarGenerationStarted": 1,
    "CalendarGenerated": 1,
    "CalendarGenerationFailed": 1,
    "CalendarReady": 1,
}
PREVIOUS_RELEASE_READS: Mapping[str, int] = {
    "TodoChanged": 1,
    "CalendarRequested": 1,
    "CalendarGenerationStarted": 1,
    "CalendarGenerated": 1,
    "CalendarGenerationFailed": 1,
    "CalendarReady": 1,
}


def parse_write_versions(text: str | None) -> dict[str, int]:
    """EVENT_WRITE_VERSIONS: `Type=N` pairs, comma-separated; each must be a registered version."""
    chosen: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        event_type, _, version = part.partition("=")
        try:
            number = int(version)
            REGISTRY.model_for(event_type.strip(), number)
        except (ValueError, UnknownEventType, UnknownSchemaVersion):
            raise ValueError(
                f"EVENT_WRITE_VERSIONS: {part!r} is not a known Type=version"
            ) from None
        chosen[event_type.strip()] = number
    return chosen


def write_version(
    event_type: str,
    overrides: Mapping[str, int] | None = None,
    *,
    registry: EventRegistry = REGISTRY,
) -> int:
    """The version of `event_type` to write: the operator's choice, else this release's."""
    if overrides and event_type in overrides:
        return overrides[event_type]
    return WRITE_VERSIONS.get(event_type, registry.current_version(event_type))
