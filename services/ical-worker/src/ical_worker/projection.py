"""The worker's projection of each owner's todos, as versions of pre-rendered VEVENTs.

An owner's events apply strictly in sequence: an event applies only at applied_sequence + 1,
in the same transaction that moves applied_sequence. A lower sequence is a duplicate delivery
and changes nothing; a higher one means something was missed (a DLQ, a rebuild, or a calendar
request that arrived ahead of its owner's changes), and the gap is filled from todo-api's event
feed before the event itself applies. The feed is read before the owner's row is locked
(`prefetch`), so no HTTP round trip is made while the owner's other work waits; only what the
prefetch did not cover is read under the lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select, update

from ical_worker.feed import FeedClient, FeedUnavailable
from ical_worker.render import render_vevent
from ical_worker.store import versions
from ical_worker.store.feeds import want as want_feed
from ical_worker.store.tables import owners
from taskoverflow_events import DecodedEvent
from taskoverflow_events.persistence import dialect_insert
from taskoverflow_events.schemas.todo_changed import TodoChangedV1

APPLIED, DUPLICATE = "applied", "duplicate"


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

    def prefetch(self, owner: str, *, after: int, until: int) -> list[DecodedEvent]:
        """The feed's events (after, until], read outside any transaction."""
        if until <= after:
            return []
        return list(self._feed.events(owner, after=after, until=until))

    def advance(self, conn: Connection, event: DecodedEvent) -> str:
        """Apply one event of the owner's stream, in order."""
        return APPLIED if self.advance_many(conn, [event]) else DUPLICATE

    def advance_many(
        self,
        conn: Connection,
        events: Sequence[DecodedEvent],
        *,
        prefetched: Sequence[DecodedEvent] = (),
    ) -> list[DecodedEvent]:
        """Apply events of one owner's stream at once, under one lock: `prefetched` (read from
        the feed beforehand) first, then `events`. A duplicate is skipped and a gap is filled
        from the feed first, so a run need not be contiguous (after a redelivery, moto has been
        seen to split one group's messages between two consumers). Returns those of `events`
        that were new."""
        owner = (events or prefetched)[0].envelope.owner
        applied = self.lock(conn, owner)
        own = {id(e) for e in events}
        fresh: list[DecodedEvent] = []
        changes: list[versions.Change] = []
        touched = False
        for event in [*prefetched, *events]:
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
            if id(event) in own:
                fresh.append(event)
        versions.apply(conn, owner, changes)
        self._set_applied(conn, owner, applied, todos_changed=touched or bool(changes))
        return fresh

    def catch_up(self, conn: Connection, owner: str, applied: int, *, until: int | None) -> int:
        """Apply the feed's events after `applied`, up to and including `until` (or its end);
        the caller holds the owner's lock. From nothing (a new owner, a rebuild) only each
        todo's last state is written and the history starts there; otherwise every change gets
        its version, so the history stays whole."""
        if applied > 0:
            return self._fill(conn, owner, applied, until=until)
        latest: dict[int, versions.Change] = {}
        for event in self._feed.events(owner, after=0, until=until):
            if isinstance(event.payload, TodoChangedV1):
                latest[event.payload.todo.id] = versions.Change(
                    event.envelope.sequence or 0, event.payload
                )
            applied = event.envelope.sequence or applied
        if until is not None and applied < until:
            raise FeedUnavailable(f"{owner}'s feed ends at {applied}; sequence {until} is needed")
        versions.replace_all(conn, owner, list(latest.values()))
        conn.execute(update(owners).where(owners.c.owner == owner).values(history_from=applied))
        self._set_applied(conn, owner, applied, todos_changed=bool(latest))
        return applied

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
