"""Where calendars live in the calendar bucket: the layout the ical-worker writes and todo-api
reads. Job calendars travel as claim checks (bucket and key in CalendarGenerated); the live feed
has no event, so both sides derive its key from the owner here."""

from __future__ import annotations

import uuid
from urllib.parse import quote


def job_key(owner: str, job_id: uuid.UUID) -> str:
    return f"calendars/{quote(owner, safe='')}/{job_id}.ics"


def feed_key(owner: str) -> str:
    return f"feeds/{quote(owner, safe='')}.ics"
