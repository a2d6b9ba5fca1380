"""The relay sends ahead the event types that travel in a FIFO group of their own (transport.py),
finding them through a partial index whose clause names them (tables.py): the two must agree, or
the query silently reads an owner's whole backlog on every pass."""

from taskoverflow_events.transport import OWN_GROUP_EVENT_TYPES
from todo_api.store.tables import UNPUBLISHED_REQUESTS


def test_the_partial_index_names_every_type_that_travels_apart() -> None:
    assert len(OWN_GROUP_EVENT_TYPES) == 1, "one type in the clause; a second needs IN (...)"
    (event_type,) = OWN_GROUP_EVENT_TYPES
    assert f"event_type = '{event_type}'" in str(UNPUBLISHED_REQUESTS)
