"""One render measurement in a process of its own, so its peak memory is its own.

`python -m taskoverflow_bench.render_probe MODE DB` prints JSON {seconds, peak_rss_mb, bytes}:
- naive: read every todo and regenerate the calendar with icalendar, as the Celery design did;
- assembled: stream the pre-rendered VEVENTs (the worker's projection) through assemble();
- baseline: import what the others import and stop (the interpreter's own footprint).
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive(db: str) -> tuple[float, int]:
    from icalendar import Calendar, Event

    engine = create_engine(f"sqlite:///{db}")
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, title, description, completed, deadline_at FROM todos")
        ).all()
    calendar = Calendar()
    calendar.add("prodid", "-//Taskoverflow Calendar//naive//EN")
    calendar.add("version", "2.0")
    for row in rows:
        event = Event()
        event.add("uid", f"todo-{row.id}@taskoverflow")
        event.add("summary", row.title)
        if row.description:
            event.add("description", row.description)
        event.add("dtstart", datetime.fromisoformat(str(row.deadline_at)).replace(tzinfo=UTC))
        event.add("dtstamp", datetime.now(UTC))
        calendar.add_component(event)
    body = calendar.to_ical()
    digest = hashlib.sha256(body).hexdigest()
    assert digest
    return time.perf_counter() - started, len(body)


def assembled(db: str) -> tuple[float, int]:
    """The worker's own code path: current_bodies (streamed from the projection) + assemble."""
    from ical_worker.render import assemble
    from ical_worker.store.versions import current_bodies

    engine = create_engine(f"sqlite:///{db}")
    started = time.perf_counter()
    digest, size = hashlib.sha256(), 0
    with engine.connect() as conn:
        for chunk in assemble(current_bodies(conn, "bench", include_completed=True)):
            digest.update(chunk)
            size += len(chunk)
    return time.perf_counter() - started, size


def main() -> None:
    mode, db = sys.argv[1], sys.argv[2]
    import ical_worker.render  # noqa: F401
    import icalendar  # noqa: F401 - every mode pays the same imports

    seconds, size = {"naive": naive, "assembled": assembled}.get(mode, lambda _db: (0.0, 0))(db)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "bytes": size}))


if __name__ == "__main__":
    main()
