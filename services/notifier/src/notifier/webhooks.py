"""How a webhook is signed, and how a receiver checks it.

A receiver verifies `X-TaskOverflow-Signature: t=<unix seconds>,v1=<hex>` by computing
HMAC-SHA256(secret, "<t>.<raw body>") and comparing in constant time, and refuses a `t` too far
from its own clock (replays). Each attempt is signed afresh, so a retry is never refused as stale.
`X-TaskOverflow-Delivery` is stable across retries and redeliveries (delivery is at least once),
so a receiver drops a repeat by it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-TaskOverflow-Signature"
DELIVERY_HEADER = "X-TaskOverflow-Delivery"
EVENT_HEADER = "X-TaskOverflow-Event"
USER_AGENT = "TaskOverflow-Notifier/2"


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


def signed_headers(
    secret: str, body: bytes, *, delivery_id: str, event_type: str, now: float
) -> dict[str, str]:
    """The headers of one attempt."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(now), body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
        "User-Agent": USER_AGENT,
    }
