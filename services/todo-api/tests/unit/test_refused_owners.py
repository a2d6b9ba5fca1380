"""A refused owner waits its own backoff, doubling from half a second to a minute."""

import pytest

from todo_api.relay.refusals import RefusedOwners


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_refusal_doubles_the_owners_pause_up_to_a_minute() -> None:
    clock = Clock()
    refused = RefusedOwners(clock=clock)
    waits = [refused.refuse("ann", "KMSThrottling") for _ in range(9)]
    assert waits == [0.5, 1, 2, 4, 8, 16, 32, 60, 60]


def test_a_paused_owner_is_left_alone_until_its_pause_runs_out() -> None:
    clock = Clock()
    refused = RefusedOwners(clock=clock)
    refused.refuse("ann", "x")
    refused.refuse("ann", "x")  # now waits 1 s
    refused.refuse("bob", "x")  # waits 0.5 s
    assert refused.waiting() == {"ann", "bob"}
    assert refused.next_retry_in() == 0.5
    clock.now += 0.6
    assert refused.waiting() == {"ann"}
    assert refused.next_retry_in() == pytest.approx(0.4)
    clock.now += 0.5
    assert refused.waiting() == set()
    assert refused.next_retry_in() is None, "a pause that ran out is no reason to wake up"


def test_an_accepted_event_ends_the_owners_pause_and_its_backoff() -> None:
    clock = Clock()
    refused = RefusedOwners(clock=clock)
    for _ in range(4):
        refused.refuse("ann", "x")
    refused.accepted("ann")
    assert refused.waiting() == set()
    assert refused.refuse("ann", "x") == 0.5
