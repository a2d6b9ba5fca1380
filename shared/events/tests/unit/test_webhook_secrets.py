"""Owners' webhook secrets derived from the service key (ADR 11): stable, distinct per owner and
per version, and the previous version signs only while a rotation's grace lasts."""

from datetime import UTC, datetime, timedelta

import pytest

from taskoverflow_events.webhook_secrets import check_signing_key, owner_secret, signing_secrets

KEY = "a" * 64
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_each_owner_and_version_has_its_own_secret_and_the_key_is_none_of_them() -> None:
    secrets = {owner_secret(KEY, o, v) for o in ("alice", "bob") for v in (1, 2)}
    assert len(secrets) == 4
    assert all(s.startswith("whsec_") and KEY not in s for s in secrets)
    assert owner_secret(KEY, "alice", 1) == owner_secret(KEY, "alice", 1)
    assert owner_secret(KEY, "alice", 1) != owner_secret("b" * 64, "alice", 1)


def test_the_previous_version_signs_only_during_the_grace() -> None:
    later = NOW + timedelta(hours=1)
    during = signing_secrets(KEY, "alice", 3, later, now=NOW)
    assert during == [owner_secret(KEY, "alice", 3), owner_secret(KEY, "alice", 2)]
    assert signing_secrets(KEY, "alice", 3, later, now=later) == [owner_secret(KEY, "alice", 3)]
    assert signing_secrets(KEY, "alice", 3, None, now=NOW) == [owner_secret(KEY, "alice", 3)]
    naive = later.replace(tzinfo=None)  # as databases keep it: UTC
    assert len(signing_secrets(KEY, "alice", 3, naive, now=NOW)) == 2


def test_a_short_key_or_version_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SIGNING_KEY"):
        check_signing_key("short")
    with pytest.raises(ValueError, match="starts at 1"):
        owner_secret(KEY, "alice", 0)
