"""Old and new processes side by side during a deploy (ADR 7): what a new producer writes by
default, a consumer of the previous release reads; what an old producer wrote, a new consumer
reads. A consumer of the previous release is modelled by a registry that knows only the
versions that release knew."""

import json

import pytest

from taskoverflow_events import REGISTRY, EventRegistry, UnknownSchemaVersion, decode
from taskoverflow_events.versions import (
    PREVIOUS_RELEASE_READS,
    WRITE_VERSIONS,
    parse_write_versions,
    write_version,
)
from taskoverflow_testing.contracts import sample


def previous_release_registry() -> EventRegistry:
    registry = EventRegistry()
    for event_type, version, model in REGISTRY:
        if version <= PREVIOUS_RELEASE_READS[event_type]:
            registry.register(event_type, version, model)
    return registry


def test_every_event_type_has_a_write_version_the_previous_release_reads() -> None:
    assert set(WRITE_VERSIONS) == set(REGISTRY.event_types()) == set(PREVIOUS_RELEASE_READS)
    for event_type in REGISTRY.event_types():
        assert write_version(event_type) <= PREVIOUS_RELEASE_READS[event_type], event_type


@pytest.mark.parametrize("event_type", REGISTRY.event_types())
def test_what_a_new_producer_writes_by_default_an_old_consumer_reads(event_type: str) -> None:
    body = sample(event_type, write_version(event_type))
    old = decode(json.dumps(body), registry=previous_release_registry(), upcasters={})
    assert old.event_type == event_type


@pytest.mark.parametrize("event_type", REGISTRY.event_types())
def test_what_an_old_producer_wrote_a_new_consumer_reads(event_type: str) -> None:
    body = sample(event_type, PREVIOUS_RELEASE_READS[event_type])
    new = decode(json.dumps(body))
    current = REGISTRY.current_version(event_type)
    assert isinstance(new.payload, REGISTRY.model_for(event_type, current))


def test_writing_a_version_early_is_the_operators_choice_and_an_old_consumer_refuses_it() -> None:
    chosen = parse_write_versions("CalendarReady=2")
    assert write_version("CalendarReady", chosen) == 2
    early = sample("CalendarReady", 2)
    with pytest.raises(UnknownSchemaVersion):
        decode(json.dumps(early), registry=previous_release_registry(), upcasters={})


@pytest.mark.parametrize("text", ["CalendarReady=3", "Nope=1", "CalendarReady", "CalendarReady=x"])
def test_an_unknown_write_version_is_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError, match="EVENT_WRITE_VERSIONS"):
        parse_write_versions(text)
