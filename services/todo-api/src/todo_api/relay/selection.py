"""Which events a relay pass takes: owners in turns, an equal share of each, interleaved.

A pass takes up to `owners_per_pass` owners with unpublished events, in turns (round-robin by
name), and up to an equal share of the pass's budget of each one's oldest events. Their events are
interleaved, so a quiet owner's one event rides in the pass's first PublishBatch however many
events another owner has waiting. An owner's calendar requests come before its changes
(store/outbox.py).

While backpressure holds changes back (relay/backpressure.py), a pass takes the calendar
requests of every owner and the events of owners who have at most `SMALL_BACKLOG` waiting, each
with turns of their own. What fills the queue is bulk writers' backlogs, and only those wait:
an owner who writes as people do is not held up by a bulk writer's deep or stuck FIFO group. (An
owner with more waiting than that counts as a bulk writer until the queue drains.)
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
    """Rank by rank, so every owner's first event rides in the pass's first call."""
    return [row for rank in zip_longest(*per_owner) for row in rank if row is not None]


class PassSelector:
    """Whose turn it is, with a cursor per way of choosing owners: a held pass must not move
    the turns of full passes, or the owners it skipped would miss theirs."""

    def __init__(self, owners_per_pass: int) -> None:
        self.owners_per_pass = owners_per_pass
        self._cursor = ""  # the last owner a full pass served: the next starts after it
        self._small_cursor = ""  # the same for held passes, looking for owners with few waiting
        self._requests_cursor = ""  # and for held passes' calendar requests

    def reset(self) -> None:
        """Forget whose turn it is (another relay may have led meanwhile)."""
        self._cursor = self._small_cursor = self._requests_cursor = ""

    def select(self, conn: Connection, *, budget: int, paused: set[str], held: bool) -> Selection:
        """The next pass: at most `budget` events, none of an owner in `paused`."""
        if held:
            return self._held(conn, budget, paused)
        owners = self._next(conn, self._cursor, paused, requests_only=False)
        if not owners:
            return Selection([], more=False)
        self._cursor = owners[-1]
        share = max(1, budget // len(owners))
        per_owner = [outbox.owner_pending(conn, owner, share) for owner in owners]
        more = len(owners) == self.owners_per_pass or any(len(p) == share for p in per_owner)
        return Selection(interleave(per_owner), more)

    def _held(self, conn: Connection, budget: int, paused: set[str]) -> Selection:
        """Small owners' events, all of them, and every requesting owner's requests."""
        owners = self._next(conn, self._small_cursor, paused, requests_only=False)
        if owners:
            self._small_cursor = owners[-1]
        small = [
            waiting
            for waiting in (outbox.owner_pending(conn, o, SMALL_BACKLOG + 1) for o in owners)
            if len(waiting) <= SMALL_BACKLOG
        ]
        requesting = self._next(conn, self._requests_cursor, paused, requests_only=True)
        if requesting:
            self._requests_cursor = requesting[-1]
        share = max(1, budget // max(1, len(requesting)))
        taken = {row.event_id for rows in small for row in rows}
        requests = [
            [r for r in outbox.owner_requests(conn, owner, share) if r.event_id not in taken]
            for owner in requesting
        ]
        # A pass keeps to its budget (relay/pacing.py); the cut leaves each owner's first events.
        every = interleave(small + requests)
        rows = every[:budget]
        # Go on at once only after a pass that took something: a pass over held owners alone
        # would find the same nothing again until the depth falls.
        more = bool(rows) and (
            len(every) > budget
            or len(owners) == self.owners_per_pass
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
