from datetime import datetime

import pytest
from pydantic import ValidationError

from todo_api.api.requests import RequestInvalid, TodoCreate, TodoUpdate, describe, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01T09:30:00", datetime(2026, 5, 1, 9, 30)),
        ("2026-05-01T09:30:00.123456", datetime(2026, 5, 1, 9, 30)),
        ("2026-05-01T09:30:00+02:00", datetime(2026, 5, 1, 7, 30)),
        ("2026-05-01T09:30:00Z", datetime(2026, 5, 1, 9, 30)),
        ("2026-05-01", datetime(2026, 5, 1)),
        (None, None),
    ],
)
def test_timestamps_become_naive_utc_seconds(text: str | None, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2026-02-30T00:00:00", "tomorrow", "2026-13-01T00:00:00", ""])
def test_impossible_or_garbled_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid date-time"):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "title: is required"),
        ({"title": ""}, "title: must not be empty"),
        ({"title": "   "}, "title: must not be empty"),
        ({"title": 5}, "title"),
        ({"title": "x", "completed": "yes"}, "completed"),
        ({"title": "x", "completed": 1}, "completed"),
        ({"title": "x", "deadline_at": 1700000000}, "deadline_at: must be a string"),
        ({"title": "x", "colour": "red"}, "colour: unknown field"),
        ({"title": "x" * 501}, "title"),
        ({"title": "x", "description": 7}, "description"),
    ],
)
def test_bad_create_bodies_are_described(body: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError) as info:
        TodoCreate.model_validate(body)
    assert says in describe(info.value)


def test_update_reports_only_the_fields_sent_and_allows_clearing() -> None:
    fields = TodoUpdate.model_validate({"completed": True, "deadline_at": None})
    assert fields.changes() == {"completed": True, "deadline_at": None}


@pytest.mark.parametrize("name", ["title", "completed"])
def test_update_refuses_null_for_required_fields(name: str) -> None:
    with pytest.raises(RequestInvalid, match=f"{name}: may not be null"):
        TodoUpdate.model_validate({name: None}).changes()
