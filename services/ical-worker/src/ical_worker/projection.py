"""The worker's projection of each owner's todos, as versions of pre-rendered VEVENTs.

An owner's events apply strictly in sequence: an event applies only at applied_sequence + 1,
in the same transaction that moves applied_sequence. A lower sequence is a duplicate delivery
and changes nothing; a higher one means something was missed (a DLQ, a rebuild, or a calendar
request that arrived ahead of its owner's changes), and the gap is filled from todo-api's event
feed before the event itself applies. The feed is read a page at a time with no lock held
(`read_ahead`), each page applied in a short transaction of its own. An owner new to the
projection (after a deploy that changed its shape, every owner) is folded from its whole feed,
also with no lock and no transaction open, and only the result is written under the lock; only a
race leaves anything to read under the lock (`_fill`). An HTTP read inside a transaction would
hold the owner's lock for as long as todo-api takes, and the worker's idle-in-transaction
timeout would end a long fold every time it was tried.

The events a reader ahead of the projection needs (a calendar request that overtook its owner's
changes, ADR 8) are also on their way through the worker's own queue, usually being applied by
another receive loop at that very moment. So when the feed cannot be read, `read_ahead` waits
for them there, as long as they keep coming, before giving up: a message left for redelivery
holds its FIFO group (the owner's calendars) for a whole visibility timeout, 60 s, where the
changes took a second or two. No lock is held while it waits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, Engine, select, update

from ical_worker.feed import PAGE, FeedClient, FeedUnavailable
from ical_worker.render import render_vevent
from ical_worker.store import versions
from ical_worker.store.feeds import want as want_feed
from ical_worker.store.tables import owners
from taskoverflow_events import DecodedEvent
from taskoverflow_events.persistence import dialect_insert
from taskoverflow_events.schemas.todo_changed import TodoChangedV1

log = structlog.get_logger("ical_worker")

# With the feed unreadable: how long the owner's changes may take to arrive through the queue,
# in all (no longer than the redelivery this saves: the queue's visibility timeout) and from one
# to the next (a queue that brings none for this long is not bringing them), and how often the
# projection is looked at meanwhile.
QUEUE_WAIT_SECONDS = 60.0
QUEUE_STALL_SECONDS = 3.0
QUEUE_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Folded:
    """An owner's todos as they stood at `sequence`, each as its last change."""

    sequence: int
    changes: list[versions.Change]


class Projection:
    def __init__(self, feed: FeedClient) -> None:
        self._feed = feed

    def lock(self, conn: Connection, owner: str) -> int:
        """The owner's applied sequence, with the owner's row locked until commit."""
        conn.execute(
            dialect_insert(conn, owners)
            .values(owner=owner, applied_sequence=0, history_from=0)
            .on_conflict_do_nothing(index_elements=["owner"])  # type: ignore[attr-defined]
        )
        return int(
            conn.execute(
                select(owners.c.applied_sequence).where(owners.c.owner == owner).with_for_update()
            ).scalar_one()
        )

    def history_from(self, conn: Connection, owner: str) -> int:
        found = conn.execute(select(owners.c.history_from).where(owners.c.owner == owner)).scalar()
        return int(found or 0)

    def applied(self, conn: Connection, owner: str) -> int:
        """The owner's applied sequence as of now, without locking (for a prefetch)."""
        found = conn.execute(
            select(owners.c.applied_sequence).where(owners.c.owner == owner)
        ).scalar()
        return int(found or 0)

    def read_ahead(self, engine: Engine, owner: str, until: int) -> None:
        """Bring the owner's projection up to `until` from the feed, reading each page (up to
        PAGE events) with no lock held and applying it in a transaction of its own, so neither
        the owner's lock nor memory is held for a long backlog. An owner new to the projection
        is folded from its whole feed instead (its history starts there). With the feed
        unreadable, the same events are awaited from the queue (the module's docstring)."""
        while True:
            with engine.connect() as conn:
                applied = self.applied(conn, owner)
            if applied >= until:
                return
            try:
                if applied == 0:
                    folded = self.fold(owner, until=until)
                    with engine.begin() as conn:
                        if self.lock(conn, owner) == 0:
                            self.install(conn, owner, folded)
                            return
                    continue  # another loop began the owner meanwhile: read on from there
                page = list(
                    self._feed.events(owner, after=applied, until=min(until, applied + PAGE))
                )
                if not page:
                    raise FeedUnavailable(f"{owner}'s feed ends at {applied}; {until} is needed")
            except FeedUnavailable as unreadable:
                self._await_queue(engine, owner, applied, until, unreadable)
                return
            with engine.begin() as conn:
                self.advance_many(conn, page)

    def _await_queue(
        self, engine: Engine, owner: str, applied: int, until: int, unreadable: FeedUnavailable
    ) -> None:
        """Wait, with no lock held, for the owner's projection to reach `until` through the
        changes the queue brings; re-raise `unreadable` once they stop coming for the stall
        time or the whole wait is used up, so the message is retried later as before."""
        log.warning(
            "event feed unreadable; awaiting the owner's changes from the queue",
            error=repr(unreadable),
            applied=applied,
            until=until,
        )
        started = moved = time.monotonic()
        while (now := time.monotonic()) - moved < QUEUE_STALL_SECONDS:
            if now - started >= QUEUE_WAIT_SECONDS:
                break
            time.sleep(QUEUE_POLL_SECONDS)
            with engine.connect() as conn:
                reached = self.applied(conn, owner)
            if reached >= until:
                waited = round(time.monotonic() - started, 3)
                log.info("the owner's changes arrived from the queue", waited_s=waited)
                return
            if reached > applied:
                applied, moved = reached, time.monotonic()
        raise unreadable

    def advance_many(self, conn: Connection, events: Sequence[DecodedEvent]) -> list[DecodedEvent]:
        """Apply events of one owner's stream at once, under one lock. A duplicate is skipped
        and a gap is filled from the feed first, so a run need not be contiguous (after a
        redelivery, moto has been seen to split one group's messages between two consumers).
        Returns the events that were new."""
        owner = events[0].envelope.owner
        applied = self.lock(conn, owner)
        fresh: list[DecodedEvent] = []
        changes: list[versions.Change] = []
        touched = False
        for event in events:
            sequence = event.envelope.sequence
            if sequence is None:
                raise ValueError(f"{event.event_type} on the FIFO topic carries no sequence")
            if sequence <= applied:
                continue
            if sequence > applied + 1:
                versions.apply(conn, owner, changes)
                touched, changes = touched or bool(changes), []
                applied = self._fill(conn, owner, applied, until=sequence - 1)
            if isinstance(event.payload, TodoChangedV1):
                changes.append(versions.Change(sequence, event.payload))
            applied = sequence
            fresh.append(event)
        versions.apply(conn, owner, changes)
        self._set_applied(conn, owner, applied, todos_changed=touched or bool(changes))
        return fresh

    def catch_up(self, conn: Connection, owner: str, applied: int, *, until: int | None) -> int:
        """Apply the feed's events after `applied`, up to and including `until` (or its end);
        the caller holds the owner's lock, so this reads under it: only for what a race left
        (read_ahead and fold come first). From nothing, see `fold`."""
        if applied > 0:
            return self._fill(conn, owner, applied, until=until)
        return self.install(conn, owner, self.fold(owner, until=until))

    def fold(self, owner: str, *, until: int | None) -> Folded:
        """Each todo's last state from the owner's whole feed, up to `until` (or its end): what
        a projection starting from nothing needs, read with no lock held. Memory grows with the
        owner's todos, not its events."""
        latest: dict[int, versions.Change] = {}
        reached = 0
        for event in self._feed.events(owner, after=0, until=until):
            if isinstance(event.payload, TodoChangedV1):
                latest[event.payload.todo.id] = versions.Change(
                    event.envelope.sequence or 0, event.payload
                )
            reached = event.envelope.sequence or reached
        if until is not None and reached < until:
            raise FeedUnavailable(f"{owner}'s feed ends at {reached}; sequence {until} is needed")
        return Folded(reached, list(latest.values()))

    def install(self, conn: Connection, owner: str, folded: Folded) -> int:
        """Write a fold as the owner's projection; the caller holds the owner's lock and has
        seen it at nothing (or reset it). Only each todo's last state gets a version, so the
        history starts at the fold's sequence."""
        versions.replace_all(conn, owner, folded.changes)
        conn.execute(
            update(owners).where(owners.c.owner == owner).values(history_from=folded.sequence)
        )
        self._set_applied(conn, owner, folded.sequence, todos_changed=bool(folded.changes))
        return folded.sequence

    def _fill(self, conn: Connection, owner: str, applied: int, *, until: int | None) -> int:
        changes = []
        for event in self._feed.events(owner, after=applied, until=until):
            if isinstance(event.payload, TodoChangedV1):
                changes.append(versions.Change(event.envelope.sequence or 0, event.payload))
            applied = event.envelope.sequence or applied
        if until is not None and applied < until:
            raise FeedUnavailable(f"{owner}'s feed ends at {applied}; sequence {until} is needed")
        versions.apply(conn, owner, changes)
        self._set_applied(conn, owner, applied, todos_changed=bool(changes))
        return applied

    def reset(self, conn: Connection, owner: str) -> None:
        """Forget an owner entirely (before a rebuild); the caller holds the owner's lock."""
        versions.reset(conn, owner)
        conn.execute(update(owners).where(owners.c.owner == owner).values(history_from=0))
        self._set_applied(conn, owner, 0, todos_changed=False)

    def folded_from_feed(self, owner: str, sequence: int, *, include_completed: bool) -> list[str]:
        """The owner's VEVENTs as they stood at `sequence`, folded from the whole feed: the
        slow path, for a point older than the owner's kept history (history_from)."""
        latest: dict[int, TodoChangedV1] = {}
        for event in self._feed.events(owner, after=0, until=sequence):
            if isinstance(event.payload, TodoChangedV1):
                latest[event.payload.todo.id] = event.payload
        rows = []
        for payload in latest.values():
            body = None if payload.change == "deleted" else render_vevent(owner, payload.todo)
            if body is not None and (include_completed or not payload.todo.completed):
                rows.append((payload.todo.deadline_at, payload.todo.id, body))
        return [body for _, _, body in sorted(rows)]  # type: ignore[type-var]

    @staticmethod
    def _set_applied(conn: Connection, owner: str, sequence: int, *, todos_changed: bool) -> None:
        """Move the owner's applied sequence and, in the same transaction, record that its live
        feed should follow (store/feeds.py), so a crash cannot lose the need to rewrite it."""
        conn.execute(
            update(owners).where(owners.c.owner == owner).values(applied_sequence=sequence)
        )
        want_feed(conn, owner, sequence, todos_changed=todos_changed)
