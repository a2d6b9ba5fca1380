"""A calendar request carries the time todo-api fails its job if unfinished (deadline_at). A
worker that meets the request after it ends the job as failed instead of rendering: a calendar
rendered then would send the job's webhook receiver a success for a job whose status says
FAILURE."""

from __future__ import annotations

from datetime import UTC, datetime

from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1

# The code todo-api's own deadline sweep gives a job (todo_api/store/jobs.py), so a job ends with
# the same reason whichever of the two sees its deadline pass first.
DEADLINE_EXCEEDED = "deadline_exceeded"
PAST_DEADLINE = "the calendar was not generated in time; ask for it again"


def past_deadline(request: CalendarRequestedV1) -> bool:
    """Whether todo-api has failed (or is about to fail) this job for lateness: rendering it now
    would send its webhook's receiver a calendar for a job whose status says FAILURE."""
    deadline = request.deadline_at
    if deadline is None:
        return False
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    return datetime.now(UTC) >= deadline
