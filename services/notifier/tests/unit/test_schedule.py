"""The retry policy: which answers are retried, how long to wait, and that every delivery ends."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from notifier.delivery.schedule import AttemptResult, RetryPolicy, describe, parse_retry_after

NOW = datetime(2026, 11, 30, 12, 0, 0)


def policy(**options: Any) -> RetryPolicy:
    """The defaults (6 attempts, 1 s doubling up to 300 s), or as given."""
    return RetryPolicy(**options)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425, 429])
def test_server_errors_and_requests_for_patience_are_retried(status: int) -> None:
    verdict = policy().judge(AttemptResult(status_code=status), 1, NOW)
    assert verdict.state == "pending"
    assert verdict.retry_at is not None


@pytest.mark.parametrize("status", [301, 302, 400, 401, 403, 404, 410, 422])
def test_a_redirect_or_another_client_error_ends_the_delivery(status: int) -> None:
    assert policy().judge(AttemptResult(status_code=status), 1, NOW).state == "failed"


def test_a_network_error_or_a_missed_deadline_is_retried() -> None:
    verdict = policy().judge(AttemptResult(error="no answer within the 10 s deadline"), 1, NOW)
    assert verdict.state == "pending"


def test_a_refusal_ends_the_delivery_at_once() -> None:
    refused = AttemptResult(error="refused: internal", sent=False, final=True)
    assert policy().judge(refused, 1, NOW).state == "failed"


def test_any_2xx_delivers() -> None:
    assert policy().judge(AttemptResult(status_code=202), 6, NOW).state == "delivered"


def test_the_last_attempt_ends_the_delivery_whatever_the_answer() -> None:
    for result in (AttemptResult(status_code=503), AttemptResult(error="reset")):
        assert policy(attempts=6).judge(result, 5, NOW).state == "pending"
        assert policy(attempts=6).judge(result, 6, NOW).state == "failed"


def test_the_wait_doubles_with_jitter_in_its_upper_half_and_is_capped() -> None:
    low, high = policy(jitter=lambda: 0.0), policy(jitter=lambda: 1.0)
    assert [high.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert [low.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 4, 8]
    assert high.delay(20) == 300
    assert low.delay(20) == 150


def test_retry_after_lengthens_the_wait_up_to_the_cap() -> None:
    fixed = policy(jitter=lambda: 1.0)
    assert fixed.delay(1, retry_after=30) == 30
    assert fixed.delay(1, retry_after=0) == 1, "never shorter than the backoff"
    assert fixed.delay(1, retry_after=86_400) == 300
    verdict = fixed.judge(AttemptResult(status_code=429, retry_after="120"), 1, NOW)
    assert verdict.retry_at == NOW + timedelta(seconds=120)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Mon, 30 Nov 2026 12:01:00 GMT", 60.0),
        ("Mon, 30 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("-3", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_the_error_recorded_says_what_the_receiver_said() -> None:
    assert describe(AttemptResult(status_code=204)) is None
    assert describe(AttemptResult(status_code=503, body=b"  busy \n")) == "HTTP 503: busy"
    assert describe(AttemptResult(status_code=404)) == "HTTP 404"
    assert describe(AttemptResult(error="reset")) == "reset"
    assert len(describe(AttemptResult(status_code=500, body=b"x" * 5000)) or "") < 220
