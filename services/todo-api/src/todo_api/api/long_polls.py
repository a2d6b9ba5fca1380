"""How many status long-polls may wait at once: per owner, and in all, in one web process.

A long-poll holds a server thread while it waits (gunicorn runs a fixed number of them), so
without a bound one client could hold every thread and leave none for anyone else, health
checks included. An owner past its own share is told to slow down (429, Retry-After); when the
process as a whole is at its bound, a request is answered at once with the job as it stands,
as a plain status poll would be, so well-behaved owners never see an error for others' load.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class TooManyLongPolls(Exception):
    """This owner already has its share of long-polls waiting: 429."""


class LongPollSlots:
    def __init__(self, *, total: int, per_owner: int) -> None:
        self.total = total
        self.per_owner = per_owner
        self._lock = threading.Lock()
        self._waiting: Counter[str] = Counter()

    @contextmanager
    def slot(self, owner: str) -> Iterator[bool]:
        """Yields True if the caller may wait; False if it must answer at once. Raises
        TooManyLongPolls when the owner is past its share."""
        with self._lock:
            if self._waiting[owner] >= self.per_owner:
                raise TooManyLongPolls(
                    f"{self.per_owner} status long-polls of yours are already waiting; "
                    "wait for one to finish"
                )
            granted = sum(self._waiting.values()) < self.total
            if granted:
                self._waiting[owner] += 1
        try:
            yield granted
        finally:
            if granted:
                with self._lock:
                    self._waiting[owner] -= 1
                    if not self._waiting[owner]:
                        del self._waiting[owner]
