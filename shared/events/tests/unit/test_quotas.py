"""Batches cut by count and bytes, sizes counted as AWS counts them, attributes within ten."""

import uuid

import pytest

from taskoverflow_events import quotas
from taskoverflow_events.transport import attributes_for


def cut(sizes: list[int], max_bytes: int) -> list[list[int]]:
    return list(quotas.batches(sizes, lambda s: s, max_bytes=max_bytes))


def test_a_batch_holds_at_most_ten_entries() -> None:
    assert [len(b) for b in cut([1] * 25, max_bytes=10_000)] == [10, 10, 5]


def test_entries_that_add_up_to_exactly_the_limit_share_a_call_and_one_byte_more_does_not() -> None:
    assert cut([100, 100, 56], max_bytes=256) == [[100, 100, 56]]
    assert cut([100, 100, 57], max_bytes=256) == [[100, 100], [57]]


def test_an_entry_over_the_limit_travels_alone_and_order_is_kept() -> None:
    assert cut([10, 300, 10, 10], max_bytes=256) == [[10], [300], [10, 10]]


def test_size_counts_utf8_bytes_and_every_part_of_every_attribute() -> None:
    attributes = {"owner": {"DataType": "String", "StringValue": "zoë"}}
    # body 4 bytes per character; attribute: "owner" 5 + "String" 6 + "zoë" 4
    assert quotas.message_bytes("😀😀", attributes) == 8 + 5 + 6 + 4


def test_ten_attributes_pass_and_eleven_are_refused_before_sending() -> None:
    ten = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(10)}
    assert quotas.attribute_problem(ten) is None
    eleven = {**ten, "a10": {"DataType": "String", "StringValue": "v"}}
    assert "11 message attributes" in (quotas.attribute_problem(eleven) or "")


@pytest.mark.parametrize(
    ("group", "valid"),
    [
        ("alice", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("", False),
        ("zoë", False),
        ("with space", False),
        ("o'brien.v2-(test)", True),
    ],
)
def test_a_message_group_id_is_1_to_128_alphanumerics_or_punctuation(
    group: str, valid: bool
) -> None:
    assert (quotas.message_group_problem(group) is None) is valid


class Routed:
    event_id = uuid.uuid4()
    event_type = "TodoChanged"
    schema_version = 1
    owner = "o" * 64


def test_what_we_attach_to_every_message_stays_within_the_attribute_limit() -> None:
    assert quotas.attribute_problem(attributes_for(Routed())) is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, 262_144),
        ({"MaximumMessageSize": "1048576"}, 1_048_576),
        ({"MaximumMessageSize": "2048"}, 2048),
        ({"MaximumMessageSize": "5000000"}, 1_048_576),
    ],
)
def test_a_topics_limit_is_its_own_or_the_documented_default(
    given: dict[str, str], expected: int
) -> None:
    assert quotas.topic_max_message_bytes(given) == expected
