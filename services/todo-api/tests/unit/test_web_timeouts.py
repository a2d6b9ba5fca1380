"""The web process's statement and lock timeouts must stay well under the 60 s after which an
unanswered Idempotency-Key claim is taken over: a setting that would break that is refused at
start, not discovered as a duplicate todo."""

from __future__ import annotations

import pytest

from todo_api.config import Settings


def test_the_web_timeouts_default_to_20_seconds() -> None:
    settings = Settings.from_env({})
    assert (settings.web_statement_timeout_seconds, settings.web_lock_timeout_seconds) == (20, 20)


@pytest.mark.parametrize("name", ["WEB_STATEMENT_TIMEOUT_SECONDS", "WEB_LOCK_TIMEOUT_SECONDS"])
@pytest.mark.parametrize("seconds", ["0", "31", "120"])
def test_a_web_timeout_off_or_near_the_claims_staleness_is_refused(name: str, seconds: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: seconds})
