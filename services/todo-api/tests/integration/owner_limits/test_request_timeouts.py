"""A request stuck behind another (its owner's stream row held) is cut off by the web process's
lock timeout and answered 503 with Retry-After, nothing written and its Idempotency-Key let go:
it never hangs until the key's claim looks dead to a retry (60 s) and is taken over."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, text

from taskoverflow_testing.plugin import AwsEndpoint
from todo_api.api import create_app
from todo_api.config import Settings
from todo_api.store.tables import events, todos

TODOS = "/api/v1/todos"
# Only bounds the test should the request hang (it did, before the web engine had timeouts).
HANG = 15


def test_a_request_blocked_on_its_owners_stream_answers_503_within_the_lock_timeout(
    pg_url: str,
    pg_engine: Engine,
    aws_endpoint: AwsEndpoint,
    new_owner: Callable[..., dict[str, str]],
    rows_of: Callable[..., int],
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": pg_url,
            "AUTH_MODE": "token",
            "AWS_ENDPOINT_URL": aws_endpoint.url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "WEB_LOCK_TIMEOUT_SECONDS": "1",
            "WEB_STATEMENT_TIMEOUT_SECONDS": "1",
        }
    )
    app = create_app(settings)  # its own engine, built as the web process builds it
    alice = new_owner(pg_engine, "alice")
    keyed = {**alice, "Idempotency-Key": "blocked-then-retried"}

    def post(headers: dict[str, str]) -> Any:
        return app.test_client().post(TODOS, json={"title": "t"}, headers=headers)

    try:
        assert post(alice).status_code == 201  # the owner's stream row now exists
        with pg_engine.connect() as holder, ThreadPoolExecutor(max_workers=1) as pool:
            lock = holder.begin()
            try:
                holder.execute(text("SELECT version FROM streams WHERE owner = 'alice' FOR UPDATE"))
                blocked = pool.submit(post, keyed).result(timeout=HANG)
            finally:
                lock.rollback()
        assert blocked.status_code == 503
        assert set(blocked.json) == {"error"}
        assert "in time" in blocked.json["error"]
        assert int(blocked.headers["Retry-After"]) >= 1
        assert rows_of(pg_engine, todos, "alice") == 1, "the refused request wrote nothing"
        assert rows_of(pg_engine, events, "alice") == 1
        retried = post(keyed)
        assert retried.status_code == 201, "the key was let go, so its retry does the work"
        assert "Idempotent-Replayed" not in retried.headers
    finally:
        app.extensions["todo_application"].engine.dispose()
