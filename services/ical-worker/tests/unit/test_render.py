"""Rendering is pure: valid RFC 5545 for any text, parsed back by icalendar to the same values."""

from datetime import UTC, datetime

import icalendar
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ical_worker.render import (
    CALENDAR_HEAD,
    CALENDAR_TAIL,
    DONE_PREFIX,
    assemble,
    calendar_text,
    render_vevent,
    todo_uid,
)

from taskoverflow_events.schemas.todo_changed import TodoV1


def todo(**fields: object) -> TodoV1:
    base = {
        "id": 1,
        "title": "Pay rent",
        "created_at": datetime(2026, 1, 1, 8),
        "updated_at": datetime(2026, 1, 2, 9),
        "deadline_at": datetime(2026, 2, 1, 17, 30),
        "version": 1,
    }
    return TodoV1.model_validate(base | fields)


def calendar_of(*todos: TodoV1, owner: str = "alice") -> bytes:
    return b"".join(assemble(v for t in todos if (v := render_vevent(owner, t))))


def test_a_todo_without_a_deadline_is_left_out() -> None:
    assert render_vevent("alice", todo(deadline_at=None)) is None
    assert calendar_of(todo(deadline_at=None)) == (CALENDAR_HEAD + CALENDAR_TAIL).encode()


def test_the_event_carries_the_todo() -> None:
    [event] = icalendar.Calendar.from_ical(calendar_of(todo(description="Bank transfer"))).walk(
        "VEVENT"
    )
    assert str(event["summary"]) == "Pay rent"
    assert str(event["description"]) == "Bank transfer"
    assert event["dtstart"].dt.isoformat() == "2026-02-01T17:30:00+00:00"
    assert event["last-modified"].dt.isoformat() == "2026-01-02T09:00:00+00:00"
    assert str(event["uid"]) == todo_uid("alice", 1)


def test_completed_todos_are_marked() -> None:
    [event] = icalendar.Calendar.from_ical(calendar_of(todo(completed=True))).walk("VEVENT")
    assert str(event["summary"]).startswith(DONE_PREFIX)
    assert str(event["x-taskoverflow-completed"]) == "TRUE"


def test_uids_are_stable_and_distinct_per_owner_and_todo() -> None:
    assert todo_uid("alice", 1) == todo_uid("alice", 1)
    assert len({todo_uid("alice", 1), todo_uid("bob", 1), todo_uid("alice", 2)}) == 3


def test_assembly_streams_in_chunks_and_keeps_the_order() -> None:
    todos = [todo(id=i, title=f"t{i:04d}") for i in range(500)]
    chunks = list(assemble((render_vevent("a", t) or "" for t in todos), chunk_chars=4096))
    assert len(chunks) > 10
    events = icalendar.Calendar.from_ical(b"".join(chunks)).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [f"t{i:04d}" for i in range(500)]


def test_a_literal_backslash_n_is_kept() -> None:
    body = calendar_of(todo(title="Back up C:\\Notes", description="\\N is not a line break"))
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["summary"]) == "Back up C:\\Notes"
    assert str(event["description"]) == "\\N is not a line break"


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=300, deadline=None)
@given(title=text.filter(lambda s: s.strip()), description=text, completed=st.booleans())
def test_any_text_round_trips_and_cannot_inject(
    title: str, description: str, completed: bool
) -> None:
    body = calendar_of(todo(title=title, description=description or None, completed=completed))
    lines = body.split(b"\r\n")
    assert lines[-1] == b"", "every line, the last included, ends in CRLF"
    assert all(len(line) <= 75 for line in lines), "folded at 75 octets"
    for line in lines:
        line.decode("utf-8")  # a fold never splits a UTF-8 sequence
    assert b"\n" not in body.replace(b"\r\n", b"")
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len(icalendar.Calendar.from_ical(body).subcomponents) == 1
    expected_summary = (DONE_PREFIX if completed else "") + calendar_text(title)
    assert str(event["summary"]) == expected_summary
    if description and calendar_text(description):
        assert str(event["description"]) == calendar_text(description)


def vevent_by_icalendar_event(owner: str, t: TodoV1) -> str:
    """The same VEVENT built the obvious way, through `icalendar.Event`: render_vevent writes its
    lines directly because this costs five times as much, and must give the same bytes."""
    event = icalendar.Event()
    event.add("uid", todo_uid(owner, t.id))
    event.add("summary", (DONE_PREFIX if t.completed else "") + calendar_text(t.title))
    if t.description:
        event.add("description", calendar_text(t.description))
    assert t.deadline_at is not None
    event.add("dtstart", t.deadline_at.replace(tzinfo=UTC))
    event.add("dtstamp", t.updated_at.replace(tzinfo=UTC))
    event.add("created", t.created_at.replace(tzinfo=UTC))
    event.add("last-modified", t.updated_at.replace(tzinfo=UTC))
    event.add("sequence", t.version - 1)
    event.add("categories", ["TaskOverflow", "Completed" if t.completed else "Open"])
    event.add("x-taskoverflow-completed", "TRUE" if t.completed else "FALSE")
    return str(event.to_ical().decode("utf-8"))


moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30))


@settings(max_examples=300, deadline=None)
@given(
    owner=st.text(min_size=1, max_size=64),
    todo_id=st.integers(min_value=1, max_value=2**31 - 1),
    title=st.text(min_size=1, max_size=300),
    description=st.none() | st.text(max_size=600),
    completed=st.booleans(),
    version=st.integers(min_value=1, max_value=10_000),
    deadline=moments,
    created=moments,
    updated=moments,
)
def test_the_vevent_is_byte_for_byte_what_icalendar_event_gives(
    owner: str,
    todo_id: int,
    title: str,
    description: str | None,
    completed: bool,
    version: int,
    deadline: datetime,
    created: datetime,
    updated: datetime,
) -> None:
    # The one difference by design: icalendar's escaper turns a literal backslash-N into a line
    # break, render keeps it (test_a_literal_backslash_n_is_kept).
    assume("\\N" not in calendar_text(title) + calendar_text(description or ""))
    t = todo(
        id=todo_id,
        title=title,
        description=description,
        completed=completed,
        version=version,
        deadline_at=deadline,
        created_at=created,
        updated_at=updated,
    )
    assert render_vevent(owner, t) == vevent_by_icalendar_event(owner, t)
