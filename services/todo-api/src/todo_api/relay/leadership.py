"""Only one relay publishes at a time, and a leader that vanishes is replaced within a lease.

The leader holds a row in `relay_leases` whose expiry it pushes forward every third of the
lease; any relay may take the row once it has expired. Expiry is reckoned on the database's
clock, so relays whose hosts' clocks disagree still agree on who leads. A PostgreSQL session
lock, which this replaces, lives as long as its connection, and a connection whose host vanished
without closing it can stay open until the server notices, which may be never (ADR 5).

The leader also keeps a local deadline, the start of its last successful renewal plus the
lease: past it, another relay may lead, so it makes no further call to SNS until it has
renewed. A leader cut off from the database cannot renew, and so stops by itself. Two relays
may still both publish for a moment (a call already under way when the lease ran out): each
publishes an owner's events in order and only marks what SNS accepted, so the worst is a repeat,
which the FIFO topic drops by event id within five minutes and consumers skip after that.
`term` counts changes of leader; it is logged, so an operator can see failovers.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

import structlog
from sqlalchemy import Engine, text

from taskoverflow_events.persistence import is_postgres

log = structlog.get_logger("todo_api.relay")

LEASE_NAME = "outbox-relay"

# Seconds since the epoch, read from the database's own clock.
_NOW = {
    "postgresql": "extract(epoch from clock_timestamp())::float8",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}

_TAKE_OR_RENEW = """
INSERT INTO relay_leases (name, holder, expires_at, term)
VALUES (:name, :holder, {now} + :seconds, 1)
ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    expires_at = excluded.expires_at,
    term = relay_leases.term
        + CASE WHEN relay_leases.holder = excluded.holder THEN 0 ELSE 1 END
WHERE relay_leases.holder = excluded.holder OR relay_leases.expires_at < {now}
RETURNING term
"""


class Lease:
    def __init__(
        self,
        engine: Engine,
        *,
        seconds: float = 10.0,
        name: str = LEASE_NAME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._engine = engine
        self._name = name
        self._clock = clock
        now = _NOW["postgresql" if is_postgres(engine) else "sqlite"]
        self._take_or_renew = text(_TAKE_OR_RENEW.format(now=now))
        self._renewed_at = float("-inf")
        self.term: int | None = None

    @property
    def valid(self) -> bool:
        """Held, by this relay's own reckoning (see the module's docstring)."""
        return self._clock() < self._renewed_at + self.seconds

    @property
    def renew_in(self) -> float:
        """Seconds until the lease is due for renewal: how long the leader may rest."""
        return max(0.0, self._renewed_at + self.seconds / 3 - self._clock())

    def hold(self) -> bool:
        """Take the lease or renew it when due; True while this relay leads. Raises if the
        database is unreachable (the local deadline then runs out on its own)."""
        if self.valid and self.renew_in > 0:
            return True
        started = self._clock()
        with self._engine.begin() as conn:
            term = conn.execute(
                self._take_or_renew,
                {"name": self._name, "holder": self.holder, "seconds": self.seconds},
            ).scalar()
        if term is None:
            self._renewed_at = float("-inf")
            self.term = None
            return False
        self._renewed_at = started
        self.term = int(term)
        return True

    def release(self) -> None:
        """Hand over at once on a clean stop, instead of letting a standby wait out the lease."""
        self._renewed_at = float("-inf")
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    text("UPDATE relay_leases SET expires_at = 0 WHERE name = :n AND holder = :h"),
                    {"n": self._name, "h": self.holder},
                )
        except Exception as exc:  # noqa: BLE001 - the lease expires by itself anyway
            log.info("could not release the relay lease; it expires by itself", error=repr(exc))
