"""Hold a bulk writer's changes in the outbox while the queues they feed are deep.

Off unless RELAY_BACKPRESSURE_QUEUES names queues (ADR 15). On AWS a deep queue costs nothing,
so the relay publishes whatever is waiting. An emulator is another matter: moto scans a queue's
every message for each message it sends, receives or deletes, and a bulk import of thousands of
todos kept its one core busy, with every owner's calls waiting behind it. So `make run` keeps
the worker's changes queue under RELAY_BACKPRESSURE_DEPTH messages. The outbox is as durable a
buffer as the queue, and from it the relay still takes owners in turns. Only owners with more
than a PublishBatch's worth waiting are held (relay/selection.py), and never their calendar
requests: those have a queue of their own (ADR 14), and a request renders its as_of however far
the projection lags (ADR 8).

The depth is asked for at most every `every_seconds`, and only while there are changes to send;
in between, what the relay published since is added to the last answer, so bulk writers' changes
stop within one pass of the limit (owners with few waiting still add theirs). If the question
fails, the relay publishes, as it would without backpressure: SQS keeps what it is given, so not
knowing the depth must not stop the events.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("todo_api.relay.backpressure")


class Backpressure:
    """The hold's state: the depth at the last look, and what was published since."""

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
        self._failing = False

    def holding(self) -> bool:
        """Whether changes wait this pass: the watched queues held `limit` or more messages
        (waiting or in flight) at the last look, counting what was published since."""
        now = self._clock()
        if self._asked_at is None or now - self._asked_at >= self.every_seconds:
            self._asked_at = now
            self._depth_seen = self._look()
        holding = self._depth_seen is not None and self._depth_seen >= self.limit
        if holding != self._holding:
            # Debug: a queue kept at its limit crosses it several times a second.
            log.debug("holding changes" if holding else "sending changes", depth=self._depth_seen)
        self._holding = holding
        return holding

    def _look(self) -> int | None:
        try:
            depth = self._depth()
        except Exception as exc:  # noqa: BLE001 - unknown depth: publish, as without backpressure
            if not self._failing:  # once per failing spell, not four times a second
                log.warning("cannot read the queues' depth; not holding changes", error=repr(exc))
            self._failing = True
            return None
        if self._failing:
            log.info("the queues' depth can be read again", depth=depth)
            self._failing = False
        return depth

    def published(self, changes: int) -> None:
        """The relay sent `changes` more messages towards the watched queues."""
        if self._depth_seen is not None:
            self._depth_seen += changes

    def recheck_in(self) -> float:
        """Seconds until the depth may be asked for again."""
        if self._asked_at is None:
            return 0.0
        return max(0.0, self.every_seconds - (self._clock() - self._asked_at))
