"""When to try a webhook again, and when to stop: the retry policy, apart from any I/O.

Modelled on Stripe's and Svix's webhooks: a network error, a missed deadline, a 5xx and the
statuses that ask for patience (408, 425, 429) are retried after an exponentially growing, jittered
wait, at most `attempts` times in all; a receiver's Retry-After is honoured up to the same cap. A
2xx delivers. Anything else (a 3xx, which is never followed, or another 4xx) says the receiver
will not take it, so the delivery ends at once. Every delivery therefore ends.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from notifier.store.tables import DELIVERED, FAILED, PENDING

RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt came to: a status (and the Retry-After it carried), or an error."""

    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    body: bytes = b""  # the start of the response body, for the record
    # False when the attempt was refused before any connection (the URL is not allowed).
    sent: bool = True
    # True when nothing could make a retry succeed (a refused URL, no secret to sign with).
    final: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str  # PENDING again, DELIVERED or FAILED
    retry_at: datetime | None = None


def describe(result: AttemptResult) -> str | None:
    """The attempt's error for the record: why it failed, or None when it delivered."""
    status = result.status_code
    if result.error or status is None:
        return result.error or "no response"
    if 200 <= status < 300:
        return None
    text = result.body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {status}" + (f": {text}" if text else "")


def retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUSES


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.replace(tzinfo=None) - (when.utcoffset() or timedelta())
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait after failed attempt number `attempt` (from 1): base·2^(n-1), capped, of which
        the upper half is jittered so receivers that failed together are not retried together;
        never shorter than the receiver's Retry-After (itself capped)."""
        full = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        wait = full / 2 + full / 2 * self.jitter()
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.backoff_max_seconds))
        return wait

    def judge(self, result: AttemptResult, attempt: int, now: datetime) -> Verdict:
        status = result.status_code
        if status is not None and 200 <= status < 300:
            return Verdict(DELIVERED)
        may_retry = not result.final and (status is None or retryable(status))
        if not may_retry or attempt >= self.attempts:
            return Verdict(FAILED)
        wait = self.delay(attempt, parse_retry_after(result.retry_after, now))
        return Verdict(PENDING, retry_at=now + timedelta(seconds=wait))
