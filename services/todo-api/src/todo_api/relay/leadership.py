"""Only one relay publishes at a time, so two relays can never interleave an owner's events.

On PostgreSQL the leader holds a session advisory lock on a dedicated connection; if that
connection dies the lock goes with it and a standby takes over. SQLite is a single-machine,
single-relay set-up (`make run`), so there the lock is always granted.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Connection, Engine, text

from taskoverflow_events.persistence import is_postgres

log = structlog.get_logger("todo_api.relay")

RELAY_LOCK_KEY = 0x7A5C_0F10  # any fixed 64-bit number shared by every relay of this database


class Leadership:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        """Try to become (or stay) leader; never blocks."""
        if not is_postgres(self._engine):
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 - a dead connection means the lock is gone
                self.release()
        conn = self._engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_KEY}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RELAY_LOCK_KEY})
            self._conn.commit()
        except Exception as exc:  # noqa: BLE001 - closing drops the lock anyway
            log.info("advisory unlock failed; closing the connection drops it", error=repr(exc))
        finally:
            self._conn.close()
            self._conn = None
