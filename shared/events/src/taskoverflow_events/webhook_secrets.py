"""Each owner's webhook signing secret: derived from one service key, never stored (ADR 11).

    secret(owner, version) = "whsec_" + hex(HMAC-SHA256(WEBHOOK_SIGNING_KEY, "<owner>:<version>"))

Why derived: the notifier must sign with the owner's own secret, yet it may not read todo-api's
database and no secret may travel in an event. Deriving it lets the two holders of the key (the
todo-api owners CLI, which shows an owner its secret once, and the notifier, which signs) agree
on every owner's secret with nothing shared but the key and a version number, which is not
secret and rides in the events (`WebhookSigningV1`). HMAC-SHA256 is a pseudorandom function, so
an owner who knows its own secrets learns nothing of another owner's, nor of the key. Owner names
cannot contain ':' (store/owners.py in todo-api), so "<owner>:<version>" names one pair only.

Rotation adds one to the version; for a grace period the previous version signs too, so a
receiver can switch secrets without missing a delivery (as Stripe's webhooks do).

`taskoverflow-webhook-secret OWNER VERSION` prints one secret wherever the key is. On AWS only
the notifier is given the key, not todo-api, so `todo-api-owners` there prints the version and
an operator derives the secret on their own machine, with the key read from Secrets Manager.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

# A prefix, not a secret: secret scanners and people can tell what a leaked value is.
SECRET_PREFIX = "whsec_"  # noqa: S105
# Every owner's secret is only as strong as the key: 32 characters at least (`make run` and the
# docs use 32 random bytes, as 64 hex digits).
MIN_KEY_LENGTH = 32


def check_signing_key(key: str) -> str:
    """The key, if it is long enough to derive secrets from; else ValueError."""
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(
            f"WEBHOOK_SIGNING_KEY must be at least {MIN_KEY_LENGTH} characters (32 random bytes,"
            " e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return key


def owner_secret(key: str, owner: str, version: int) -> str:
    """The secret `owner` verifies its webhooks with, at `version` (1 when the owner is made)."""
    if version < 1:
        raise ValueError("a webhook secret version starts at 1")
    mac = hmac.new(key.encode(), f"{owner}:{version}".encode(), hashlib.sha256)
    return SECRET_PREFIX + mac.hexdigest()


def signing_secrets(
    key: str,
    owner: str,
    version: int,
    previous_valid_until: datetime | None,
    *,
    now: datetime,
) -> list[str]:
    """The secrets that sign a webhook sent at `now`: the current version's, then the previous
    version's while the grace of the rotation that replaced it lasts. Naive times are UTC."""
    secrets = [owner_secret(key, owner, version)]
    in_grace = previous_valid_until is not None and _utc(now) < _utc(previous_valid_until)
    if version > 1 and in_grace:
        secrets.append(owner_secret(key, owner, version - 1))
    return secrets


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="taskoverflow-webhook-secret",
        description="Print an owner's webhook secret at a version, from WEBHOOK_SIGNING_KEY.",
    )
    parser.add_argument("owner")
    parser.add_argument("version", type=int, help="as todo-api-owners printed it")
    args = parser.parse_args(argv)
    try:
        key = check_signing_key(os.environ.get("WEBHOOK_SIGNING_KEY", ""))
        print(owner_secret(key, args.owner, args.version))
    except ValueError as exc:
        print(f"taskoverflow-webhook-secret: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
