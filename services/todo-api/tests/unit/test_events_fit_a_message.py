"""Whatever a client may write, each event it causes fits one SNS message at the default limit.

The request limits (title, description, callback URL) are what makes this true, so raising one
of them past what a message can carry fails here, not in production as a refused publish.
"""

import json
import uuid
from datetime import datetime

from taskoverflow_events import encode, new_envelope, quotas
from taskoverflow_events.callback_urls import CALLBACK_URL_MAX
from taskoverflow_events.schemas.calendar_requested import CalendarRequestedV1
from taskoverflow_events.transport import attributes_for
from todo_api.api.requests import DESCRIPTION_MAX, TITLE_MAX
from todo_api.domain.commands import CreateTodo
from todo_api.domain.todo import decide
from todo_api.store.event_store import PRODUCER
from todo_api.store.owners import OWNER_NAME

OWNER = "o" * 64  # the longest owner name todo-api accepts (store/owners.py)


def widest_character() -> str:
    """The character whose JSON encoding in an envelope takes the most bytes."""
    candidates = ["a", "é", "€", "😀", "\x00", '"', "\\", "\u2028", "\ud7ff"]
    return max(candidates, key=lambda c: len(json.dumps(c, ensure_ascii=False).encode()))


def size(envelope: object) -> int:
    return quotas.message_bytes(encode(envelope), attributes_for(envelope))  # type: ignore[arg-type]


def test_the_largest_possible_todo_change_fits_a_message() -> None:
    wide = widest_character()
    command = CreateTodo(
        title=wide * TITLE_MAX, description=wide * DESCRIPTION_MAX, deadline_at=datetime(9999, 1, 1)
    )
    [change] = decide(command, None, now=datetime(2026, 11, 30), new_id=2**31 - 1)
    envelope = new_envelope(
        change, producer=PRODUCER, owner=OWNER, correlation_id="c" * 100, sequence=2**31 - 1
    )
    assert size(envelope) <= quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES
    # A \u escape (6 bytes a character) is the widest; the test must have used it.
    assert size(envelope) > 6 * (TITLE_MAX + DESCRIPTION_MAX), "the widest character was not used"


def test_the_largest_possible_calendar_request_fits_a_message() -> None:
    payload = CalendarRequestedV1(
        job_id=uuid.uuid4(),
        as_of=2**31 - 1,
        notify="https://" + "h" * (CALLBACK_URL_MAX - 8),
    )
    envelope = new_envelope(payload, producer=PRODUCER, owner=OWNER, correlation_id="c" * 100)
    assert size(envelope) <= quotas.SNS_DEFAULT_MAX_MESSAGE_BYTES


def test_every_owner_name_todo_api_accepts_is_a_valid_message_group_id() -> None:
    for name in ["a", "A" * 64, "z9_.-" * 12 + "abcd", OWNER]:
        assert OWNER_NAME.fullmatch(name), name
        assert quotas.message_group_problem(name) is None, name
    assert not OWNER_NAME.fullmatch("a" * 65), "todo-api caps owner names at 64 characters"


def test_no_owner_name_can_be_another_owners_calendar_requests_group() -> None:
    from taskoverflow_events.transport import CALENDAR_REQUESTS_GROUP_SUFFIX

    assert not OWNER_NAME.fullmatch("alice" + CALENDAR_REQUESTS_GROUP_SUFFIX)
    assert quotas.message_group_problem("o" * 64 + CALENDAR_REQUESTS_GROUP_SUFFIX) is None
