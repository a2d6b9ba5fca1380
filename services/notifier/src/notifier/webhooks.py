"""How a webhook is signed, and how a receiver checks it.

`X-TaskOverflow-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]` carries one v1 signature per
secret that signs: the owner's current one and, for a grace period after a rotation, the one it
replaced (as Stripe's webhooks do), so a receiver can switch secrets without missing a delivery.
Each is HMAC-SHA256(secret, "<t>.<raw body>"). A receiver computes its own with the secret it
holds, accepts if any v1 matches (in constant time), and refuses a `t` too far from its own clock
(replays). Each attempt is signed afresh, so a retry is never refused as stale.
`X-TaskOverflow-Delivery` is stable across retries and redeliveries (delivery is at least once),
so a receiver drops a repeat by it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-TaskOverflow-Signature"
DELIVERY_HEADER = "X-TaskOverflow-Delivery"
EVENT_HEADER = "X-TaskOverflow-Event"
USER_AGENT = "TaskOverflow-Notifier/2"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: str | Sequence[str], timestamp: int, body: bytes) -> str:
    """The header value: the timestamp, then one v1 per secret, in the order given."""
    chosen = [secrets] if isinstance(secrets, str) else list(secrets)
    if not chosen:
        raise ValueError("a webhook is signed with at least one secret")
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, body)}" for s in chosen)])


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300) -> bool:
    """What a receiver does, with the one secret it holds; shipped here so the tests and the
    docs use the same code. True if any v1 in the header is this secret's signature."""
    try:
        pairs = [part.split("=", 1) for part in header.split(",")]
        timestamps = [int(value) for name, value in pairs if name == "t"]
        signatures = [value for name, value in pairs if name == "v1"]
    except ValueError:
        return False
    if len(timestamps) != 1 or not signatures:
        return False
    if abs(now - timestamps[0]) > tolerance:
        return False
    expected = _mac(secret, timestamps[0], body)
    # Every candidate is compared, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    return any(matches)


def signed_headers(
    secrets: str | Sequence[str],
    body: bytes,
    *,
    delivery_id: str,
    event_type: str,
    now: float,
) -> dict[str, str]:
    """The headers of one attempt."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secrets, int(now), body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
        "User-Agent": USER_AGENT,
    }
