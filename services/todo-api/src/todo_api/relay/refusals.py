"""Owners whose next event SNS refused: they wait, with growing pauses, and nobody else does.

A refused event holds back its own owner's later events (their order is the point of the FIFO
topic) and nothing of any other owner's. Trying the refused owner again on every pass would
spend the relay's calls on an event that may never go (a message over the topic's limit), so
each owner waits out its own backoff, from half a second up to a minute, until an attempt
succeeds. The age of the oldest unpublished event (relay/lag.py) shows such an owner and
raises the alarm.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Refusal:
    attempts: int
    retry_at: float
    reason: str


class RefusedOwners:
    def __init__(
        self,
        *,
        first_seconds: float = 0.5,
        max_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._first = first_seconds
        self._max = max_seconds
        self._clock = clock
        self._refused: dict[str, _Refusal] = {}

    def refuse(self, owner: str, reason: str) -> float:
        """Record a refusal; returns how long the owner now waits."""
        previous = self._refused.get(owner)
        attempts = previous.attempts + 1 if previous else 1
        wait = min(self._max, self._first * 2 ** (attempts - 1))
        self._refused[owner] = _Refusal(attempts, self._clock() + wait, reason)
        return wait

    def accepted(self, owner: str) -> None:
        self._refused.pop(owner, None)

    def waiting(self) -> set[str]:
        """Owners whose pause has not yet run out: a pass leaves them alone."""
        now = self._clock()
        return {owner for owner, r in self._refused.items() if r.retry_at > now}

    def next_retry_in(self) -> float | None:
        """Seconds until the next paused owner may be tried again; None if none is paused.
        (An owner whose pause ran out is tried by the next pass, like any other.)"""
        now = self._clock()
        ahead = [r.retry_at - now for r in self._refused.values() if r.retry_at > now]
        return min(ahead) if ahead else None
