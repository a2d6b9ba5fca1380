"""Waiting, bounded, for what a process needs at start: its topic, its queue, its endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger("taskoverflow.startup")


def retry_until(lookup: Callable[[], T], *, seconds: float = 60.0, interval: float = 1.0) -> T:
    """At start-up the endpoint or the bootstrap may still be on its way; try for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return lookup()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for a dependency", error=str(exc))
            time.sleep(interval)
