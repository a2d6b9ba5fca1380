from typing import Any

import pytest
from pydantic import BaseModel

from taskoverflow_events import EventRegistry, UnknownSchemaVersion, decode
from taskoverflow_events.upcasting import UPCASTERS, broken_links, upcast


class NoteV1(BaseModel):
    text: str


class NoteV2(BaseModel):
    body: str


class NoteV3(BaseModel):
    body: str
    pinned: bool


def rename_text_to_body(data: dict[str, Any]) -> dict[str, Any]:
    data["body"] = data.pop("text")
    return data


def add_pinned(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "pinned": False}


@pytest.fixture
def registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register("Noted", 1, NoteV1)
    registry.register("Noted", 2, NoteV2)
    registry.register("Noted", 3, NoteV3)
    return registry


CHAIN = {("Noted", 1): rename_text_to_body, ("Noted", 2): add_pinned}


def test_upcasters_chain_from_any_old_version_to_the_current(registry: EventRegistry) -> None:
    assert upcast("Noted", 1, {"text": "hi"}, registry=registry, upcasters=CHAIN) == (
        3,
        {"body": "hi", "pinned": False},
    )
    assert upcast("Noted", 2, {"body": "hi"}, registry=registry, upcasters=CHAIN) == (
        3,
        {"body": "hi", "pinned": False},
    )


def test_current_version_passes_through_untouched(registry: EventRegistry) -> None:
    data = {"body": "hi", "pinned": True}
    assert upcast("Noted", 3, data, registry=registry, upcasters=CHAIN) == (3, data)


def test_a_missing_link_in_the_chain_is_poison_not_a_crash(registry: EventRegistry) -> None:
    with pytest.raises(UnknownSchemaVersion, match="no upcaster from v1 to v2"):
        upcast("Noted", 1, {"text": "hi"}, registry=registry, upcasters={})


def test_a_version_from_the_future_is_poison(registry: EventRegistry) -> None:
    with pytest.raises(UnknownSchemaVersion, match="v4 is unknown"):
        upcast("Noted", 4, {}, registry=registry, upcasters=CHAIN)


def test_decode_hands_handlers_the_current_model(registry: EventRegistry) -> None:
    body = (
        '{"event_id":"6b0c3f57-52d3-4ba0-9d4c-32a2d4f4e1a2","event_type":"Noted",'
        '"schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","producer":"p",'
        '"owner":"o","data":{"text":"hi"}}'
    )
    decoded = decode(body, registry=registry, upcasters=CHAIN)
    assert decoded.payload == NoteV3(body="hi", pinned=False)
    assert decoded.envelope.schema_version == 3


def test_upcasters_do_not_mutate_the_callers_data(registry: EventRegistry) -> None:
    original = {"text": "hi"}
    upcast("Noted", 1, original, registry=registry, upcasters=CHAIN)
    assert original == {"text": "hi"}


def test_a_chain_with_a_missing_or_stray_link_is_reported(registry: EventRegistry) -> None:
    assert broken_links(registry, CHAIN) == []
    assert broken_links(registry, {("Noted", 1): rename_text_to_body}) == [
        "Noted v2 has no upcaster to v3"
    ]
    stray = {**CHAIN, ("Noted", 3): add_pinned}
    assert broken_links(registry, stray) == [
        "an upcaster from Noted v3 names an unregistered version"
    ]


def test_every_shipped_version_reaches_its_types_current_version() -> None:
    from taskoverflow_events import REGISTRY

    assert len(REGISTRY.event_types()) >= 6, "the registry should hold every event type"
    assert broken_links(REGISTRY, UPCASTERS) == []
