"""Each owner's webhooks are signed with that owner's own secret (ADR 11), by the real notifier
(consumer, dispatcher, workers) on PostgreSQL and moto, to real receivers on 127.0.0.1.

One shared secret let any owner who verifies its own webhooks forge another owner's; here one
owner's secret must never verify another's delivery, and a rotation's grace lets the previous
secret sign beside the new one until it ends, and not a moment after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.webhooks import SIGNATURE_HEADER, verify

Receivers = Callable[..., Any]
HEADER = SIGNATURE_HEADER.lower()


def until(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


def one_request(hook: Any) -> Any:
    [request] = hook.wait_for(1, timeout=20)
    return request


def test_two_owners_webhooks_are_signed_with_different_secrets(
    notifiers: Any, receivers: Receivers
) -> None:
    alice_hook, bob_hook = receivers([204]), receivers([204])
    notifiers.start()
    alice = notifiers.outcome("CalendarGenerated", alice_hook.url, owner="alice")
    bob = notifiers.outcome("CalendarGenerationFailed", bob_hook.url, owner="bob")
    del bob["data"]["signing"]  # as an outcome written before `signing` existed: version 1
    notifiers.publish(alice, bob)
    to_alice, to_bob = one_request(alice_hook), one_request(bob_hook)
    now = time.time()
    alice_secret, bob_secret = notifiers.secret_of("alice"), notifiers.secret_of("bob")
    assert alice_secret != bob_secret
    assert verify(alice_secret, to_alice.headers[HEADER], to_alice.body, now=now)
    assert verify(bob_secret, to_bob.headers[HEADER], to_bob.body, now=now)
    # Bob, who verifies his own webhooks, holds nothing that verifies (or forges) alice's.
    assert not verify(bob_secret, to_alice.headers[HEADER], to_alice.body, now=now)
    assert not verify(alice_secret, to_bob.headers[HEADER], to_bob.body, now=now)
    # Nor is the notifier's key itself a secret anyone could verify with.
    assert not verify(notifiers.signing_key, to_alice.headers[HEADER], to_alice.body, now=now)


def test_during_a_rotations_grace_both_secrets_verify_and_after_it_only_the_new(
    notifiers: Any, receivers: Receivers
) -> None:
    during_hook, after_hook = receivers([204]), receivers([204])
    notifiers.start()
    during = notifiers.outcome(
        "CalendarGenerated",
        during_hook.url,
        owner="alice",
        signing={"secret_version": 2, "previous_valid_until": until(3600)},
    )
    after = notifiers.outcome(
        "CalendarGenerated",
        after_hook.url,
        owner="alice",
        signing={"secret_version": 2, "previous_valid_until": until(-1)},
    )
    notifiers.publish(during, after)
    old, new = notifiers.secret_of("alice", 1), notifiers.secret_of("alice", 2)
    in_grace, past_grace = one_request(during_hook), one_request(after_hook)
    now = time.time()
    assert in_grace.headers[HEADER].count("v1=") == 2
    assert verify(new, in_grace.headers[HEADER], in_grace.body, now=now)
    assert verify(old, in_grace.headers[HEADER], in_grace.body, now=now)
    assert past_grace.headers[HEADER].count("v1=") == 1
    assert verify(new, past_grace.headers[HEADER], past_grace.body, now=now)
    assert not verify(old, past_grace.headers[HEADER], past_grace.body, now=now)
    # Another owner's secrets of either version verify neither.
    for version in (1, 2):
        bobs = notifiers.secret_of("bob", version)
        assert not verify(bobs, in_grace.headers[HEADER], in_grace.body, now=now)
