"""Where calendars live in the calendar bucket: the layout the ical-worker writes and todo-api
reads. Job calendars travel as claim checks (bucket and key in CalendarGenerated); the live feed
has no event, so both sides derive its key from the owner here.

The two kinds live under separate prefixes because they age differently: a job's calendar is a
one-off download and may expire (the bucket's lifecycle rule filters on JOB_PREFIX, and the
topology loader refuses any other prefix), while a live feed is what calendar apps subscribe to
and must never expire."""

from __future__ import annotations

import uuid
from urllib.parse import quote

JOB_PREFIX = "calendars/"
FEED_PREFIX = "feeds/"


def job_key(owner: str, job_id: uuid.UUID) -> str:
    return f"{JOB_PREFIX}{quote(owner, safe='')}/{job_id}.ics"


def feed_key(owner: str) -> str:
    return f"{FEED_PREFIX}{quote(owner, safe='')}.ics"
