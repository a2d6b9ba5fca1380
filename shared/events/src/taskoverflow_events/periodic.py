"""Work a process does now and then beside its main loop (deadlines, retention), on a daemon
thread that outlives any one failure: a pass that fails is logged and tried at the next tick."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("taskoverflow.periodic")


class Periodic:
    def __init__(self, name: str, every_seconds: float, work: Callable[[], None]) -> None:
        self.name = name
        self._every = every_seconds
        self._work = work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_once(self) -> None:
        try:
            self._work()
        except Exception as exc:  # noqa: BLE001 - the database away: try at the next tick
            log.warning("periodic work failed; will try again", task=self.name, error=repr(exc))

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.run_once()
