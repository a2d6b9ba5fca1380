"""Signed webhook delivery with bounded retries.

A receiver verifies `X-TaskOverflow-Signature: t=<unix seconds>,v1=<hex>` by computing
HMAC-SHA256(secret, "<t>.<raw body>") and comparing in constant time, and refuses a `t` too far
from its own clock (replays). `X-TaskOverflow-Delivery` is stable across retries and
redeliveries, so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

SIGNATURE_HEADER = "X-TaskOverflow-Signature"
DELIVERY_HEADER = "X-TaskOverflow-Delivery"
EVENT_HEADER = "X-TaskOverflow-Event"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300) -> bool:
    """What a receiver does; shipped here so the tests and the README use the same code."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    status_code: int | None


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


class WebhookSender:
    def __init__(
        self,
        secret: str,
        *,
        timeout: float = 5.0,
        attempts: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()

    def send(self, url: str, body: bytes, *, delivery_id: str, event_type: str) -> DeliveryResult:
        status: int | None = None
        for attempt in range(1, self._attempts + 1):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self._secret, int(self._clock()), body),
                DELIVERY_HEADER: delivery_id,
                EVENT_HEADER: event_type,
                "User-Agent": "TaskOverflow-Notifier/1",
            }
            try:
                response = self._session.post(
                    url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
                )
                status = response.status_code
                if 200 <= status < 300:
                    return DeliveryResult(True, attempt, status)
                if not _retryable(status):
                    return DeliveryResult(False, attempt, status)
            except requests.RequestException:
                status = None
            if attempt < self._attempts:
                self._sleep(self._backoff * 2 ** (attempt - 1))
        return DeliveryResult(False, self._attempts, status)
