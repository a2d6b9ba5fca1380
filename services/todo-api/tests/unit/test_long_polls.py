"""How many status long-polls may wait: an owner past its share is refused, and past the
process's bound a request is answered at once (not refused)."""

import pytest

from todo_api.api.long_polls import LongPollSlots, TooManyLongPolls


def test_an_owner_past_its_share_is_refused_and_others_still_wait() -> None:
    slots = LongPollSlots(total=3, per_owner=1)
    with slots.slot("alice") as granted:
        assert granted
        with pytest.raises(TooManyLongPolls), slots.slot("alice"):
            pass
        with slots.slot("bob") as also:
            assert also, "another owner still gets a slot"
    with slots.slot("alice") as again:
        assert again, "a finished long-poll frees its slot"


def test_past_the_processs_bound_a_request_is_answered_at_once_not_refused() -> None:
    slots = LongPollSlots(total=2, per_owner=2)
    with slots.slot("alice") as a, slots.slot("bob") as b, slots.slot("carol") as c:
        assert (a, b, c) == (True, True, False)
    with slots.slot("carol") as later:
        assert later, "the bound counts only long-polls still waiting"
