"""The worker's projection of each owner's todos, as pre-rendered VEVENTs.

An owner's events apply strictly in sequence: an event applies only at applied_sequence + 1,
in the same transaction that moves applied_sequence. A lower sequence is a duplicate delivery
and changes nothing; a higher one means something was missed (a DLQ, a rebuild), and the gap
is filled from todo-api's event feed before the event itself applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from ical_worker.feed import FeedClient, FeedUnavailable
from ical_worker.render import render_vevent
from ical_worker.store.tables import owners, vevents
from taskoverflow_events import DecodedEvent
from taskoverflow_events.persistence import dialect_insert
from taskoverflow_events.schemas.todo_changed import TodoChangedV1

# Todos folded before a catch-up writes to the database.
CATCH_UP_PAGE = 1000
APPLIED, DUPLICATE = "applied", "duplicate"


@dataclass(frozen=True, slots=True)
class VEventRow:
    todo_id: int
    completed: bool
    deadline_at: object
    body: str


class Projection:
    def __init__(self, feed: FeedClient) -> None:
        self._feed = feed

    def lock(self, conn: Connection, owner: str) -> int:
        """The owner's applied sequence, with the owner's row locked until commit."""
        conn.execute(
            dialect_insert(conn, owners)
            .values(owner=owner, applied_sequence=0)
            .on_conflict_do_nothing(index_elements=["owner"])  # type: ignore[attr-defined]
        )
        return int(
            conn.execute(
                select(owners.c.applied_sequence).where(owners.c.owner == owner).with_for_update()
            ).scalar_one()
        )

    def advance(self, conn: Connection, event: DecodedEvent) -> str:
        """Apply one event of the owner's stream, in order."""
        owner, sequence = event.envelope.owner, event.envelope.sequence
        if sequence is None:
            raise ValueError(f"{event.event_type} on the FIFO topic carries no sequence")
        applied = self.lock(conn, owner)
        if sequence <= applied:
            return DUPLICATE
        if sequence > applied + 1:
            self.catch_up(conn, owner, applied, until=sequence - 1)
        apply_change(conn, event)
        self._set_applied(conn, owner, sequence)
        return APPLIED

    def advance_many(self, conn: Connection, events: list[DecodedEvent]) -> list[DecodedEvent]:
        """Apply events of one owner's stream at once: one lock, and one delete and one insert
        for each stretch without a gap. Like `advance`, a duplicate is skipped and a gap is
        filled from the feed first, so a run need not be contiguous (after a redelivery, moto
        has been seen to split one group's messages between two consumers). Returns the events
        that were new."""
        owner = events[0].envelope.owner
        applied = self.lock(conn, owner)
        fresh: list[DecodedEvent] = []
        latest: dict[int, TodoChangedV1] = {}
        for event in events:
            sequence = event.envelope.sequence or 0
            if sequence <= applied:
                continue
            if sequence > applied + 1:
                _apply_folded(conn, owner, latest)
                latest = {}
                applied = self.catch_up(conn, owner, applied, until=sequence - 1)
            if isinstance(event.payload, TodoChangedV1):
                latest[event.payload.todo.id] = event.payload
            applied = sequence
            fresh.append(event)
        _apply_folded(conn, owner, latest)
        self._set_applied(conn, owner, applied)
        return fresh

    def catch_up(self, conn: Connection, owner: str, applied: int, *, until: int | None) -> int:
        """Apply the feed's events after `applied`, up to and including `until` (or its end).

        Folded a page at a time: only each todo's last state in the page is rendered, and the
        page is written with one delete and one multi-row insert. A rebuild spends its time
        rendering, not on a round trip per event.
        """
        latest: dict[int, TodoChangedV1] = {}
        for event in self._feed.events(owner, after=applied, until=until):
            if isinstance(event.payload, TodoChangedV1):
                latest[event.payload.todo.id] = event.payload
            applied = event.envelope.sequence or applied
            if len(latest) >= CATCH_UP_PAGE:
                _apply_folded(conn, owner, latest)
                latest = {}
        _apply_folded(conn, owner, latest)
        if until is not None and applied < until:
            raise FeedUnavailable(f"{owner}'s feed ends at {applied}; sequence {until} is needed")
        self._set_applied(conn, owner, applied)
        return applied

    def reset(self, conn: Connection, owner: str) -> None:
        """Forget an owner entirely (before a rebuild); the caller holds the owner's lock."""
        conn.execute(delete(vevents).where(vevents.c.owner == owner))
        self._set_applied(conn, owner, 0)

    def as_of(self, owner: str, sequence: int) -> list[VEventRow]:
        """The owner's events as they stood at `sequence`, folded from the feed.

        The slow path, for a calendar asked of a point the projection has already moved past
        (after a rebuild, say); normally the FIFO order puts the projection exactly there.
        """
        rows: dict[int, VEventRow | None] = {}
        for event in self._feed.events(owner, after=0, until=sequence):
            payload = event.payload
            if isinstance(payload, TodoChangedV1):
                rows[payload.todo.id] = _row(owner, payload)
        return sorted(
            (r for r in rows.values() if r is not None),
            key=lambda r: (r.deadline_at, r.todo_id),  # type: ignore[arg-type, return-value]
        )

    @staticmethod
    def _set_applied(conn: Connection, owner: str, sequence: int) -> None:
        conn.execute(
            update(owners).where(owners.c.owner == owner).values(applied_sequence=sequence)
        )


def apply_change(conn: Connection, event: DecodedEvent) -> None:
    """The effect of one event on the projection (none for events that are not todo changes)."""
    payload = event.payload
    if not isinstance(payload, TodoChangedV1):
        return
    owner = event.envelope.owner
    todo_id = payload.todo.id
    conn.execute(delete(vevents).where(vevents.c.owner == owner, vevents.c.todo_id == todo_id))
    row = _row(owner, payload)
    if row is not None:
        conn.execute(
            vevents.insert().values(
                owner=owner,
                todo_id=todo_id,
                completed=row.completed,
                deadline_at=row.deadline_at,
                body=row.body,
            )
        )


def _apply_folded(conn: Connection, owner: str, latest: dict[int, TodoChangedV1]) -> None:
    """Each todo's last state, written over whatever the projection held for it."""
    if not latest:
        return
    conn.execute(delete(vevents).where(vevents.c.owner == owner, vevents.c.todo_id.in_(latest)))
    rows = [row for row in (_row(owner, payload) for payload in latest.values()) if row]
    if rows:
        conn.execute(
            vevents.insert(),
            [
                {
                    "owner": owner,
                    "todo_id": r.todo_id,
                    "completed": r.completed,
                    "deadline_at": r.deadline_at,
                    "body": r.body,
                }
                for r in rows
            ],
        )


def _row(owner: str, payload: TodoChangedV1) -> VEventRow | None:
    if payload.change == "deleted":
        return None
    body = render_vevent(owner, payload.todo)
    if body is None:
        return None
    return VEventRow(
        todo_id=payload.todo.id,
        completed=payload.todo.completed,
        deadline_at=payload.todo.deadline_at,
        body=body,
    )


def calendar_rows(conn: Connection, owner: str, *, include_completed: bool) -> Iterator[str]:
    """The owner's VEVENT texts in deadline order, streamed from the database."""
    stmt = select(vevents.c.body).where(vevents.c.owner == owner)
    if not include_completed:
        stmt = stmt.where(vevents.c.completed.is_(False))
    stmt = stmt.order_by(vevents.c.deadline_at, vevents.c.todo_id)
    result = conn.execute(stmt.execution_options(yield_per=1000))
    for (body,) in result:
        yield body
