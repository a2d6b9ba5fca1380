"""Several queues consumed by one process, each with its own receive loops, so a deep queue
never takes the turns, the receive quota or (on an emulator) the scans of a shallow one: the
ical-worker keeps calendar requests off the queue that carries owners' changes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from taskoverflow_events.consumer import QueueConsumer
from taskoverflow_events.stopping import stop_on_signals


class ConsumerGroup:
    def __init__(self, consumers: Sequence[QueueConsumer]) -> None:
        if not consumers:
            raise ValueError("a consumer group needs at least one consumer")
        self.consumers = list(consumers)
        self._failure: BaseException | None = None

    def run(self) -> None:
        """Every consumer until stop(); if one ends on its own, the others are stopped too, so
        the process exits (and is restarted) rather than serving one queue of two. A consumer
        that failed fails the whole run, with its error, so the process exits non-zero."""
        threads = [
            threading.Thread(target=self._run_one, args=(c,), name=f"consumer-{n}")
            for n, c in enumerate(self.consumers[1:], start=1)
        ]
        for thread in threads:
            thread.start()
        self._run_one(self.consumers[0])
        for thread in threads:
            thread.join()
        if self._failure is not None:
            raise RuntimeError("a consumer of the group failed") from self._failure

    def _run_one(self, consumer: QueueConsumer) -> None:
        try:
            consumer.run()
        except BaseException as exc:  # noqa: BLE001 - recorded, re-raised by run()
            self._failure = self._failure or exc
        finally:
            self.stop()

    def stop(self) -> None:
        for consumer in self.consumers:
            consumer.stop()

    def install_signal_handlers(self) -> None:
        stop_on_signals(self.stop)
