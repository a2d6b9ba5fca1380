"""todo-api's event feed, read to fill a gap in the projection or to rebuild it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import requests

from taskoverflow_events import DecodedEvent, decode

PAGE = 1000


# Answers that mean todo-api will not serve this caller the owner's stream, however often asked.
REFUSALS = frozenset({401, 403, 404})


class FeedUnavailable(RuntimeError):
    """todo-api could not be read; the message is retried later."""


class FeedRefused(FeedUnavailable):
    """todo-api answered, but would not serve the owner's stream to this worker: its
    TODO_API_TOKEN is unset or is not todo-api's SERVICE_TOKEN. Said as such, because retrying
    cannot help, and a bare 404 (what AUTH_MODE=none answers for an owner other than its own)
    reads like an outage."""


class FeedClient:
    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self._url = base_url.rstrip("/") + "/api/v1/events"
        self._token = token
        self._timeout = timeout
        self._local = threading.local()  # a session per thread: the receive loops share this

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            if self._token:
                session.headers["Authorization"] = f"Bearer {self._token}"
            self._local.session = session
        return session

    def events(self, owner: str, *, after: int, until: int | None = None) -> Iterator[DecodedEvent]:
        """The owner's events with after < sequence (<= until), in sequence order."""
        while until is None or after < until:
            refused = False
            try:
                response = self._session.get(
                    self._url,
                    params={"owner": owner, "after": after, "limit": PAGE},
                    timeout=self._timeout,
                )
                refused = response.status_code in REFUSALS
                response.raise_for_status()
            except requests.RequestException as exc:
                if refused:
                    raise FeedRefused(
                        f"todo-api refused {owner!r}'s event feed ({exc}):"
                        " is TODO_API_TOKEN set to todo-api's SERVICE_TOKEN?"
                    ) from exc
                raise FeedUnavailable(f"todo-api event feed: {exc}") from exc
            page = response.json()["events"]
            if not page:
                return
            for body in page:
                event = decode(json.dumps(body))
                if event.envelope.owner != owner:
                    raise FeedUnavailable(
                        f"the feed serves owner {event.envelope.owner!r}, not {owner!r}"
                    )
                sequence = event.envelope.sequence or 0
                if until is not None and sequence > until:
                    return
                yield event
                after = sequence
