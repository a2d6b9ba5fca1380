"""How far behind the relay is, as metrics the deployment alarms on.

The leader reports, every `every_seconds`, the age of the oldest event still owed to SNS, how
many events are owed, and how many owners are paused after a refusal. Only the leader reports:
when no relay leads, or the leader hangs, the metric goes missing, and the alarm treats missing
data as breaching (infra/terraform/scaling_and_alarms.tf), so a silent relay is noticed like a
slow one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from sqlalchemy import Engine

from taskoverflow_events.metrics import Metric, emit
from todo_api.store import outbox

log = structlog.get_logger("todo_api.relay")

OLDEST_UNPUBLISHED_AGE = "OutboxOldestUnpublishedAge"
UNPUBLISHED = "OutboxUnpublishedEvents"
OWNERS_PAUSED = "OutboxOwnersPaused"
DIMENSIONS = {"Service": "todo-api", "Process": "relay"}


class LagReport:
    def __init__(
        self,
        engine: Engine,
        *,
        namespace: str,
        every_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._namespace = namespace
        self._every = every_seconds
        self._clock = clock
        self._last = float("-inf")

    def due(self) -> bool:
        return self._clock() - self._last >= self._every

    def report(self, owners_paused: int) -> None:
        self._last = self._clock()
        with self._engine.connect() as conn:
            age = outbox.oldest_unpublished_age(conn)
            count = outbox.unpublished_count(conn) if age is not None else 0
        emit(
            log,
            "outbox lag",
            namespace=self._namespace,
            dimensions=DIMENSIONS,
            metrics=[
                Metric(OLDEST_UNPUBLISHED_AGE, round(age or 0.0, 3), "Seconds"),
                Metric(UNPUBLISHED, count, "Count"),
                Metric(OWNERS_PAUSED, owners_paused, "Count"),
            ],
        )
