"""iCalendar text, rendered once per todo change and only concatenated per calendar.

Each todo with a deadline becomes one VEVENT, rendered by `icalendar` (escaping, CRLF, folding
at 75 octets) when the todo changes and stored in the projection. A calendar is then a fixed
header, the stored VEVENT texts in order, and a fixed footer: assembling 10,000 events is string
concatenation, not 10,000 object builds, and it streams without holding the calendar in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from icalendar import Event

from taskoverflow_events.schemas.todo_changed import TodoV1

PRODID = "-//Taskoverflow Calendar//taskoverflow//EN"
CALENDAR_HEAD = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    f"PRODID:{PRODID}\r\n"
    "CALSCALE:GREGORIAN\r\n"
    "METHOD:PUBLISH\r\n"
    "X-WR-CALNAME:TaskOverflow\r\n"
)
CALENDAR_TAIL = "END:VCALENDAR\r\n"
# The live feed tells calendar apps how often to come back for it (RFC 7986, and the older
# X-PUBLISHED-TTL that Outlook and Google read).
FEED_REFRESH = "PT15M"
FEED_HEAD = CALENDAR_HEAD + (
    f"REFRESH-INTERVAL;VALUE=DURATION:{FEED_REFRESH}\r\nX-PUBLISHED-TTL:{FEED_REFRESH}\r\n"
)
DONE_PREFIX = "[done] "


_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {127: None}


def calendar_text(value: str) -> str:
    """What of a title or description iCalendar TEXT can carry: line ends become LF, other
    control characters (which RFC 5545 forbids) are dropped. Escaping is icalendar's job."""
    return value.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)


def todo_uid(owner: str, todo_id: int) -> str:
    """Stable across renders, unique across owners and deployments' owners."""
    owner_tag = hashlib.sha256(owner.encode()).hexdigest()[:12]
    return f"todo-{todo_id}-{owner_tag}@taskoverflow"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def render_vevent(owner: str, todo: TodoV1) -> str | None:
    """The VEVENT text for a todo, or None for a todo without a deadline (left out)."""
    if todo.deadline_at is None:
        return None
    event = Event()
    event.add("uid", todo_uid(owner, todo.id))
    event.add("summary", (DONE_PREFIX if todo.completed else "") + calendar_text(todo.title))
    if todo.description:
        event.add("description", calendar_text(todo.description))
    event.add("dtstart", _utc(todo.deadline_at))
    event.add("dtstamp", _utc(todo.updated_at))
    event.add("created", _utc(todo.created_at))
    event.add("last-modified", _utc(todo.updated_at))
    event.add("sequence", todo.version - 1)
    event.add("categories", ["TaskOverflow", "Completed" if todo.completed else "Open"])
    event.add("x-taskoverflow-completed", "TRUE" if todo.completed else "FALSE")
    return event.to_ical().decode("utf-8")


def assemble(
    vevents: Iterable[str], chunk_chars: int = 64 * 1024, *, head: str = CALENDAR_HEAD
) -> Iterator[bytes]:
    """The calendar as UTF-8 chunks of roughly `chunk_chars`, in the order given."""
    buffer: list[str] = [head]
    size = len(head)
    for vevent in vevents:
        buffer.append(vevent)
        size += len(vevent)
        if size >= chunk_chars:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    buffer.append(CALENDAR_TAIL)
    yield "".join(buffer).encode("utf-8")
