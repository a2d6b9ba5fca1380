"""The notifier's settings: defaults, the environment's names (old ones kept), and refusals."""

import pytest
from notifier.config import Settings


def test_the_defaults_bound_every_delivery() -> None:
    settings = Settings.from_env({})
    assert settings.webhook_deadline_seconds == 10
    assert settings.webhook_attempts == 6
    assert settings.webhook_backoff_seconds == 1
    assert settings.webhook_backoff_max_seconds == 300
    assert settings.webhook_concurrency == 8
    assert settings.webhook_per_owner == 2
    assert settings.webhook_lease_seconds == 60
    assert settings.retention_days == 30
    assert settings.webhook_signing_key is None
    assert dict(settings.write_versions) == {}


def test_the_environment_sets_each_knob() -> None:
    settings = Settings.from_env(
        {
            "WEBHOOK_DEADLINE_SECONDS": "4",
            "WEBHOOK_ATTEMPTS": "3",
            "WEBHOOK_BACKOFF_SECONDS": "0.5",
            "WEBHOOK_BACKOFF_MAX_SECONDS": "60",
            "WEBHOOK_CONCURRENCY": "16",
            "WEBHOOK_PER_OWNER": "1",
            "WEBHOOK_LEASE_SECONDS": "30",
            "RETENTION_DAYS": "20",
            "EVENT_WRITE_VERSIONS": "CalendarReady=2",
        }
    )
    assert settings.webhook_deadline_seconds == 4
    assert settings.webhook_attempts == 3
    assert settings.webhook_backoff_seconds == 0.5
    assert settings.webhook_backoff_max_seconds == 60
    assert (settings.webhook_concurrency, settings.webhook_per_owner) == (16, 1)
    assert settings.webhook_lease_seconds == 30
    assert settings.retention_days == 20
    assert dict(settings.write_versions) == {"CalendarReady": 2}


def test_the_older_timeout_name_still_sets_the_deadline() -> None:
    assert Settings.from_env({"WEBHOOK_TIMEOUT_SECONDS": "7"}).webhook_deadline_seconds == 7
    both = {"WEBHOOK_TIMEOUT_SECONDS": "7", "WEBHOOK_DEADLINE_SECONDS": "3"}
    assert Settings.from_env(both).webhook_deadline_seconds == 3


@pytest.mark.parametrize(
    "env",
    [
        {"RETENTION_DAYS": "14"},
        {"WEBHOOK_PER_OWNER": "0"},
        {"WEBHOOK_CONCURRENCY": "0"},
        {"WEBHOOK_ATTEMPTS": "0"},
        {"WEBHOOK_DEADLINE_SECONDS": "0"},
        {"WEBHOOK_BACKOFF_MAX_SECONDS": "0.1"},
        {"WEBHOOK_DEADLINE_SECONDS": "58"},  # the default 60 s lease would not outlast it
        {"WEBHOOK_SIGNING_KEY": "a-short-key"},
        # The old shared secret: every receiver knew it, so it can never be the key.
        {"WEBHOOK_SIGNING_KEY": "k" * 64, "WEBHOOK_SECRET": "k" * 64},
    ],
)
def test_settings_that_would_unbind_something_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="must"):
        Settings.from_env(env)


def test_the_signing_key_comes_from_webhook_signing_key_and_is_never_shown() -> None:
    key = "f" * 64
    settings = Settings.from_env({"WEBHOOK_SIGNING_KEY": key, "WEBHOOK_SECRET": "old"})
    assert settings.webhook_signing_key == key
    assert key not in repr(settings)
