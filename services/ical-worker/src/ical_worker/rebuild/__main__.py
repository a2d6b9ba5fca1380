"""`ical-worker-rebuild [--owner NAME …]`: rebuild projections from todo-api's event feed.

Each owner is rebuilt in one transaction holding that owner's projection lock, so a worker
running at the same time waits and then carries on from where the rebuild left the stream.
"""

from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import Engine, select

from ical_worker.bootstrap import build_projection
from ical_worker.config import Settings
from ical_worker.projection import Projection
from ical_worker.store.tables import owners
from taskoverflow_events import logs


def rebuild(engine: Engine, projection: Projection, owner: str) -> int:
    """Rebuild one owner; returns the sequence it reached."""
    with engine.begin() as conn:
        projection.lock(conn, owner)
        projection.reset(conn, owner)
        return projection.catch_up(conn, owner, 0, until=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", action="append", help="default: every owner known here")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure("ical-worker.rebuild", json=settings.log_json, level=settings.log_level)
    engine, projection = build_projection(settings)
    chosen = args.owner
    if not chosen:
        with engine.connect() as conn:
            chosen = [r.owner for r in conn.execute(select(owners.c.owner))] or ["default"]
    for owner in chosen:
        started = time.perf_counter()
        reached = rebuild(engine, projection, owner)
        seconds = time.perf_counter() - started
        print(f"rebuilt {owner}: {reached} events in {seconds:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
