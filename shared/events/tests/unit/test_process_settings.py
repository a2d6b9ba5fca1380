"""Settings every process shares are refused at start-up when AWS would refuse them later."""

from __future__ import annotations

import pytest

from taskoverflow_events.process import common_settings


@pytest.mark.parametrize("wait", ["0", "20"])
def test_a_long_poll_within_sqss_range_is_taken(wait: str) -> None:
    assert common_settings({"CONSUMER_WAIT_SECONDS": wait})["consumer_wait_seconds"] == int(wait)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONSUMER_WAIT_SECONDS", "21"),
        ("CONSUMER_WAIT_SECONDS", "-1"),
        ("CONSUMER_CONCURRENCY", "0"),
    ],
)
def test_a_setting_aws_or_the_consumer_cannot_honour_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        common_settings({name: value})
