"""Which events a relay pass takes: owners in turns, an equal share of each, interleaved.

A pass takes up to `owners_per_pass` owners with unpublished events, in turns (round-robin by
name), and up to an equal share of the pass's budget of each one's oldest events. Their events are
interleaved, so a quiet owner's one event rides in the pass's first PublishBatch however many
events another owner has waiting. An owner's calendar requests come before its changes
(store/outbox.py).

While backpressure holds changes back (relay/backpressure.py), a pass takes the calendar
requests of every owner, with turns of their own, and the changes of owners who have at most
`SMALL_BACKLOG` events waiting. What fills the queue is a bulk writer's backlog, and only that
backlog waits: one owner's stuck or slow FIFO group does not hold back another owner's changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest
from typing import NamedTuple

from sqlalchemy import Connection

from taskoverflow_events import quotas
from todo_api.store import outbox

# One PublishBatch's worth: an owner who writes as people do never has more than this waiting.
SMALL_BACKLOG = quotas.MAX_BATCH_ENTRIES


class Selection(NamedTuple):
    """What a pass takes: its events, owners interleaved; whether it should be followed at once
    (some owner had more waiting than it took); and whether changes were held back."""

    rows: list[outbox.StoredEvent]
    more: bool
    held: bool = False


def interleave(per_owner: Sequence[Sequence[outbox.StoredEvent]]) -> list[outbox.StoredEvent]:
    return [row for rank in zip_longest(*per_owner) for row in rank if row is not None]


class PassSelector:
    def __init__(self, owners_per_pass: int) -> None:
        self.owners_per_pass = owners_per_pass
        self._cursor = ""  # the last owner served: the next pass starts after it
        self._requests_cursor = ""  # the same for requests, while changes are held

    def reset(self) -> None:
        """Forget whose turn it is (another relay may have led meanwhile)."""
        self._cursor = self._requests_cursor = ""

    def select(self, conn: Connection, *, budget: int, paused: set[str], held: bool) -> Selection:
        owners = self._next(conn, self._cursor, paused, requests_only=False)
        if not owners:
            return Selection([], more=False)
        self._cursor = owners[-1]
        share = max(1, budget // len(owners))
        if held:
            return self._held(conn, owners, share, paused)
        per_owner = [outbox.owner_pending(conn, owner, share) for owner in owners]
        more = len(owners) == self.owners_per_pass or any(len(p) == share for p in per_owner)
        return Selection(interleave(per_owner), more)

    def _held(self, conn: Connection, owners: list[str], share: int, paused: set[str]) -> Selection:
        """Small owners' events, all of them, and every requesting owner's requests."""
        small = [
            waiting
            for waiting in (outbox.owner_pending(conn, o, SMALL_BACKLOG + 1) for o in owners)
            if len(waiting) <= SMALL_BACKLOG
        ]
        requesting = self._next(conn, self._requests_cursor, paused, requests_only=True)
        if requesting:
            self._requests_cursor = requesting[-1]
        taken = {row.event_id for rows in small for row in rows}
        requests = [
            [r for r in outbox.owner_requests(conn, owner, share) if r.event_id not in taken]
            for owner in requesting
        ]
        rows = interleave(small + requests)
        # Go on at once only after a pass that took something: a pass over held owners alone
        # would find the same nothing again until the depth falls.
        more = bool(rows) and (
            len(owners) == self.owners_per_pass
            or len(requesting) == self.owners_per_pass
            or any(len(r) == share for r in requests)
        )
        return Selection(rows, more, held=True)

    def _next(
        self, conn: Connection, after: str, paused: set[str], *, requests_only: bool
    ) -> list[str]:
        """The next owners in turn with something to publish, less those SNS refused lately."""
        found = outbox.pending_owners(
            conn,
            after=after,
            limit=self.owners_per_pass + len(paused),
            requests_only=requests_only,
        )
        return [o for o in found if o not in paused][: self.owners_per_pass]
