"""The `Idempotency-Key` header on POSTs, honoured as Stripe's API does.

A client that sent `POST /todos` and lost the answer cannot know whether the todo was made; with
a key it sends the same request again and gets the first answer (status, body, ETag) back, with
`Idempotent-Replayed: true`, and nothing is made twice. The same key with another path or body is
refused with 422; while the first request is still at work, the same key gets 409 with
Retry-After (the IETF httpapi draft's choices; Stripe answers 400 and 409). Keys belong to the
owner who sent them. Only successful answers are kept: a refused or failed request did nothing
(each write is one transaction), so its key is released and a retry does the work.

The answer is recorded in the work's own transaction (`keep`), see store/idempotency.py for why.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from flask import Response, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from todo_api.api.requests import RequestInvalid
from todo_api.application import Clock
from todo_api.config import IDEMPOTENCY_CLAIM_STALE_SECONDS
from todo_api.store import idempotency as store
from todo_api.store.fast_commit import without_waiting_for_flush
from todo_api.store.idempotency import Answer, Claim

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Any printable ASCII up to 255 characters, as Stripe allows (a UUID is the usual choice).
KEY_FORM = re.compile(r"[ -~]{1,255}")
# A claim still unanswered after this long belongs to a request that died: no request of ours
# takes a minute (bodies are 64 KiB at most, and the web process's statements and lock waits are
# cut off well before: WEB_STATEMENT_TIMEOUT_SECONDS, WEB_LOCK_TIMEOUT_SECONDS), so the key may be
# taken over.
STALE_AFTER = timedelta(seconds=IDEMPOTENCY_CLAIM_STALE_SECONDS)
KEPT_HEADERS = ("Content-Type", "ETag", "Location")

T = TypeVar("T")
log = structlog.get_logger("todo_api.api")


class IdempotencyKeys:
    def __init__(self, engine: Engine, clock: Clock, retention_hours: int) -> None:
        self._engine = engine
        self._clock = clock
        self._retention = timedelta(hours=retention_hours)

    def claim(self, owner: str, key: str, fingerprint: str) -> Claim | Answer:
        now = self._clock()
        with self._engine.begin() as conn:
            without_waiting_for_flush(conn)
            return store.claim(
                conn,
                owner,
                key,
                fingerprint,
                now=now,
                stale_before=now - STALE_AFTER,
                expired_before=now - self._retention,
            )

    def record_apart(self, claim: Claim, answer: Answer) -> None:
        """For a view that did not keep() its answer: recorded after its work, not with it."""
        try:
            with self._engine.begin() as conn:
                store.record(conn, claim, answer)
        except store.KeyInFlight:
            log.warning("idempotency key taken over before its answer was kept", key=claim.key)

    def release(self, claim: Claim) -> None:
        """Best effort: a claim left behind is taken over once stale, which is safe."""
        try:
            with self._engine.begin() as conn:
                store.release(conn, claim)
        except SQLAlchemyError as exc:
            log.warning("idempotency key not released", error=repr(exc))


def idempotent(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Wrap a POST view: replay a kept answer, or claim the key, run the view, and keep its
    answer (if 2xx) or let the key go. The view passes `keep(...)` to its use case so the
    answer commits with the work."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        keys: IdempotencyKeys = current_app.extensions["idempotency_keys"]
        outcome = keys.claim(g.owner, key, _fingerprint())
        if isinstance(outcome, Answer):
            return _replay(outcome)
        g.idempotency_claim = outcome
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            keys.release(outcome)
            raise
        if not 200 <= response.status_code < 300:
            keys.release(outcome)
        elif not outcome.answered:  # a view that did not keep() its answer in its transaction
            keys.record_apart(outcome, snapshot(response))
        return response

    return run


def keep(render: Callable[[T], Response]) -> Callable[[Connection, T], None] | None:
    """What a use case runs in its transaction to record the answer `render` makes of its
    result; None when the request has no key."""
    claim: Claim | None = g.get("idempotency_claim")
    if claim is None:
        return None

    def record(conn: Connection, result: T) -> None:
        store.record(conn, claim, snapshot(render(result)))

    return record


def snapshot(response: Response) -> Answer:
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    return Answer(response.status_code, headers, response.get_data(as_text=True))


def _replay(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, headers=answer.headers)
    response.headers[REPLAYED] = "true"
    return response


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_FORM.fullmatch(key) or not key.strip():
        raise RequestInvalid(f"{HEADER}: use 1 to 255 printable ASCII characters, e.g. a UUID")
    return key


def _fingerprint() -> str:
    """The request as far as the key is concerned: method, path and body, the body compared as
    JSON (key order and spacing do not make it another request; no body is an empty object)."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(
            json.loads(raw) if raw.strip() else {}, sort_keys=True, separators=(",", ":")
        )
    except (ValueError, RecursionError):
        body = raw.decode("latin-1")
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
