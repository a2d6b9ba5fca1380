"""Which pydantic model reads which (event_type, schema_version), and which version is current.

Event types are stable strings, never Python paths, so renaming a module cannot orphan stored
events. Each TypeAdapter is built once here, not per message.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, TypeAdapter

from taskoverflow_events.errors import UnknownEventType, UnknownSchemaVersion
from taskoverflow_events.schemas import (
    calendar_generated,
    calendar_generation_failed,
    calendar_generation_started,
    calendar_ready,
    calendar_requested,
    todo_changed,
)


class EventRegistry:
    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[BaseModel]] = {}
        self._adapters: dict[tuple[str, int], TypeAdapter[BaseModel]] = {}
        self._identities: dict[type[BaseModel], tuple[str, int]] = {}
        self._current: dict[str, int] = {}

    def register(self, event_type: str, version: int, model: type[BaseModel]) -> None:
        key = (event_type, version)
        if key in self._models:
            raise ValueError(f"{event_type} v{version} is already registered")
        self._models[key] = model
        self._adapters[key] = TypeAdapter(model)
        self._identities[model] = key
        self._current[event_type] = max(version, self._current.get(event_type, 0))

    def current_version(self, event_type: str) -> int:
        try:
            return self._current[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event_type {event_type!r}") from None

    def model_for(self, event_type: str, version: int) -> type[BaseModel]:
        return self._models[self._check(event_type, version)]

    def adapter_for(self, event_type: str, version: int) -> TypeAdapter[BaseModel]:
        return self._adapters[self._check(event_type, version)]

    def identify(self, model: type[BaseModel]) -> tuple[str, int]:
        return self._identities[model]

    def event_types(self) -> list[str]:
        return sorted(self._current)

    def __iter__(self) -> Iterator[tuple[str, int, type[BaseModel]]]:
        for (event_type, version), model in sorted(self._models.items()):
            yield event_type, version, model

    def _check(self, event_type: str, version: int) -> tuple[str, int]:
        if (event_type, version) in self._models:
            return (event_type, version)
        current = self.current_version(event_type)
        raise UnknownSchemaVersion.for_reader(event_type, version, current)


def _default_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register(todo_changed.EVENT_TYPE, 1, todo_changed.TodoChangedV1)
    registry.register(calendar_requested.EVENT_TYPE, 1, calendar_requested.CalendarRequestedV1)
    registry.register(
        calendar_generation_started.EVENT_TYPE,
        1,
        calendar_generation_started.CalendarGenerationStartedV1,
    )
    registry.register(calendar_generated.EVENT_TYPE, 1, calendar_generated.CalendarGeneratedV1)
    registry.register(
        calendar_generation_failed.EVENT_TYPE,
        1,
        calendar_generation_failed.CalendarGenerationFailedV1,
    )
    registry.register(calendar_ready.EVENT_TYPE, 1, calendar_ready.CalendarReadyV1)
    registry.register(calendar_ready.EVENT_TYPE, 2, calendar_ready.CalendarReadyV2)
    return registry


REGISTRY = _default_registry()
