"""Hold owners' changes in the outbox while the queues they feed are deep; never their requests.

Off unless RELAY_BACKPRESSURE_QUEUES names queues (ADR 15). On AWS a deep queue costs nothing,
so the relay publishes whatever is waiting. An emulator is another matter: moto scans a queue's
every message for each message it sends, receives or deletes, and a bulk import of thousands of
todos kept its one core busy, with every owner's calls waiting behind it. So `make run` keeps
the worker's changes queue under RELAY_BACKPRESSURE_DEPTH messages. The outbox is as durable a
buffer as the queue, and from it the relay still takes owners in turns. Calendar requests are
never held: they have a queue of their own (ADR 14), and a request renders its as_of however far
the projection lags (ADR 8).

The depth is asked for at most every `every_seconds`, and only while there are changes to send;
in between, what the relay published since is added to the last answer, so the queues overshoot
the limit by one pass at most. If the question fails, the relay publishes, as it would without
backpressure: SQS keeps what it is given, so not knowing the depth must not stop the events.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("todo_api.relay.backpressure")


class Backpressure:
    def __init__(
        self,
        depth: Callable[[], int],
        limit: int,
        *,
        every_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"the depth limit must be at least 1, not {limit}")
        self._depth = depth
        self.limit = limit
        self.every_seconds = every_seconds
        self._clock = clock
        self._asked_at: float | None = None
        # At the last look, plus what was published since; None if the look failed.
        self._depth_seen: int | None = None
        self._holding = False

    def holding(self) -> bool:
        """Whether changes wait this pass: the watched queues held `limit` or more messages
        (waiting or in flight) when last asked, with what was published since."""
        now = self._clock()
        if self._asked_at is not None and now - self._asked_at < self.every_seconds:
            return self._depth_seen is not None and self._depth_seen >= self.limit
        self._asked_at = now
        try:
            self._depth_seen = depth = self._depth()
        except Exception as exc:  # noqa: BLE001 - unknown depth: publish, as without backpressure
            log.warning("could not read the queues' depth; not holding changes", error=repr(exc))
            self._depth_seen = None
            self._holding = False
            return False
        holding = depth >= self.limit
        if holding != self._holding:
            log.info(
                "holding changes in the outbox" if holding else "sending changes again",
                depth=depth,
                limit=self.limit,
            )
        self._holding = holding
        return holding

    def published(self, changes: int) -> None:
        """The relay sent `changes` more messages towards the watched queues."""
        if self._depth_seen is not None:
            self._depth_seen += changes

    def recheck_in(self) -> float:
        """Seconds until the depth may be asked for again."""
        if self._asked_at is None:
            return 0.0
        return max(0.0, self.every_seconds - (self._clock() - self._asked_at))
