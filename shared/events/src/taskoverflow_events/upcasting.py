"""Bring an event's `data` from the version it was written in up to the version readers know.

Upcasters are pure dict functions keyed by (event_type, from_version), each returning the data of
from_version + 1. Consumers upcast before validation, so a handler only ever sees current models.
A version above the reader's current one cannot be downcast; it is poison, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from taskoverflow_events.errors import UnknownSchemaVersion
from taskoverflow_events.registry import REGISTRY, EventRegistry
from taskoverflow_events.schemas import calendar_ready

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]

UPCASTERS: Mapping[tuple[str, int], Upcaster] = {
    ("CalendarReady", 1): calendar_ready.calendar_ready_v1_to_v2,
}


def upcast(
    event_type: str,
    version: int,
    data: Data,
    *,
    registry: EventRegistry = REGISTRY,
    upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS,
) -> tuple[int, Data]:
    """Return (current_version, data) for `data` written at `version`."""
    current = registry.current_version(event_type)
    if version > current or version < 1:
        raise UnknownSchemaVersion.for_reader(event_type, version, current)
    while version < current:
        step = upcasters.get((event_type, version))
        if step is None:
            raise UnknownSchemaVersion(
                f"{event_type} has no upcaster from v{version} to v{version + 1}"
            )
        data = step(dict(data))
        version += 1
    return version, data


def broken_links(
    registry: EventRegistry = REGISTRY,
    upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS,
) -> list[str]:
    """What keeps some registered version from reaching its type's current one: a version with
    no upcaster to the next, or an upcaster from or to a version nobody registered."""
    registered = {(event_type, version) for event_type, version, _ in registry}
    problems = [
        f"{event_type} v{version} has no upcaster to v{version + 1}"
        for event_type, version in sorted(registered)
        if version < registry.current_version(event_type) and (event_type, version) not in upcasters
    ]
    problems += [
        f"an upcaster from {event_type} v{version} names an unregistered version"
        for event_type, version in sorted(upcasters)
        if not {(event_type, version), (event_type, version + 1)} <= registered
    ]
    return problems
