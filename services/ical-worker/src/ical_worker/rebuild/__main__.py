"""`ical-worker-rebuild [--owner NAME …]`: rebuild projections from todo-api's event feed.

Without --owner: every owner known here, including those of the previous projection's tables,
so after a deploy that changes the projection's shape one run brings every owner over.

Each owner's feed is folded first with no lock held; then, in one short transaction holding
that owner's projection lock, the fold replaces the projection and whatever the feed gained
meanwhile is applied, so a worker running at the same time waits only for that and then carries
on from where the rebuild left the stream.
"""

from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import Engine, column, inspect, select, table

from ical_worker.bootstrap import build_projection
from ical_worker.config import Settings
from ical_worker.projection import Projection
from ical_worker.store.tables import owners
from taskoverflow_events import logs

LEGACY_OWNERS = "owners"  # the projection's progress table before ADR 8


def rebuild(engine: Engine, projection: Projection, owner: str) -> int:
    """Rebuild one owner; returns the sequence it reached."""
    folded = projection.fold(owner, until=None)
    with engine.begin() as conn:
        projection.lock(conn, owner)
        projection.reset(conn, owner)
        projection.install(conn, owner, folded)
        return projection.catch_up(conn, owner, folded.sequence, until=None)


def known_owners(engine: Engine) -> list[str]:
    """Every owner this projection knows, and every owner the previous release's projection
    (its table `owners`, left beside this one) knew: run once after deploying a release that
    changed the projection's shape, it brings quiet owners (and their live feeds) over too."""
    with engine.connect() as conn:
        found = {r.owner for r in conn.execute(select(owners.c.owner))}
        if inspect(conn).has_table(LEGACY_OWNERS):
            legacy = table(LEGACY_OWNERS, column("owner"))
            found |= {r.owner for r in conn.execute(select(legacy.c.owner))}
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", action="append", help="default: every owner known here")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure("ical-worker.rebuild", json=settings.log_json, level=settings.log_level)
    engine, projection = build_projection(settings)
    chosen = args.owner or known_owners(engine) or ["default"]
    for owner in chosen:
        started = time.perf_counter()
        reached = rebuild(engine, projection, owner)
        seconds = time.perf_counter() - started
        print(f"rebuilt {owner}: {reached} events in {seconds:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
