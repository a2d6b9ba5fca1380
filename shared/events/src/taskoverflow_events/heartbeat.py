"""Keeps a batch's unfinished messages invisible while a slow handler works on them, so no
other consumer takes them meanwhile (and, on a FIFO queue, the group stays with this one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog

log = structlog.get_logger("taskoverflow.consumer")


class Heartbeat:
    def __init__(
        self,
        messages: list[dict[str, Any]],
        extend: Callable[[Iterable[tuple[str, str]]], None],
        interval: float,
        *,
        max_seconds: float = 900.0,
    ) -> None:
        self._extend = extend
        self._interval = interval
        # A handler still busy after this long is taken to be stuck: its messages are let go,
        # so SQS gives them to another consumer (handlers are idempotent) rather than this one
        # holding its group for good.
        self._until = time.monotonic() + max_seconds
        self._in_flight = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sqs-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def finished(self, message_id: str) -> None:
        with self._lock:
            self._in_flight.pop(message_id, None)

    def _beat(self) -> None:
        while not self._done.wait(self._interval):
            with self._lock:
                pending = list(self._in_flight.items())
            if not pending:
                continue
            if time.monotonic() > self._until:
                log.error("a handler is stuck; letting its messages go", messages=len(pending))
                return
            try:
                self._extend(pending)
                log.info("visibility extended", messages=len(pending))
            except Exception as exc:  # noqa: BLE001 - a missed beat only risks a redelivery
                log.warning("visibility heartbeat failed", error=repr(exc))
