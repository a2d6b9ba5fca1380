"""A removed owner's name is never given to another owner (ADR 12), on PostgreSQL.

Every row of every service is keyed by the owner's name, so a later `create alice` would see the
old alice's todos, history, jobs, results and feed. `remove` takes every token away at once and
leaves a tombstone; `create` refuses a tombstoned name, and a name with history but no owner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from taskoverflow_testing.plugin import AwsEndpoint, aws_settings_for
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.config import Settings
from todo_api.store import owners


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_removed_owners_tokens_stop_and_its_name_cannot_be_created_again(
    owners_cli: Any,
    pg_url: str,
    pg_engine: Engine,
    application: TodoApplication,
    aws_endpoint: AwsEndpoint,
) -> None:
    settings = Settings(
        database_url=pg_url, aws=aws_settings_for(aws_endpoint.url), auth_mode="token"
    )
    api = create_app(settings, application=application).test_client()
    old = owners_cli.run("create", "alice")
    todo = api.post("/api/v1/todos", json={"title": "old alice's"}, headers=bearer(old["token"]))
    job = api.post("/api/v1/todos/ical", headers=bearer(old["token"])).json
    assert todo.status_code == 201
    assert owners_cli.run("remove", "alice") == {"owner": "alice", "removed": True}
    for path in (
        "/api/v1/todos",
        f"/api/v1/todos/{todo.json['id']}/events",
        "/api/v1/events",
        f"/api/v1/todos/ical/{job['task_id']}/status",
        "/api/v1/calendar.ics",
    ):
        assert api.get(path, headers=bearer(old["token"])).status_code == 401, path
    assert api.get(f"/api/v1/calendar.ics?token={old['feed_token']}").status_code == 401
    # The name is a tombstone: a new alice would inherit the old one's data, so none is made.
    refusal = owners_cli.refused("create", "alice")
    assert "was removed" in refusal
    assert "reserved" in refusal
    with pg_engine.connect() as conn:
        assert owners.names(conn) == []
        tombstones = conn.execute(text("SELECT owner FROM removed_owners")).scalars()
        assert list(tombstones) == ["alice"]
    assert "no owner" in owners_cli.refused("remove", "alice")


def test_a_name_with_history_but_no_owner_is_refused(
    owners_cli: Any, pg_url: str, application: TodoApplication, aws_endpoint: AwsEndpoint
) -> None:
    """Data written with AUTH_MODE=none, or by an owner removed before names were reserved."""
    settings = Settings(database_url=pg_url, aws=aws_settings_for(aws_endpoint.url))
    open_api = create_app(settings, application=application).test_client()
    assert open_api.post("/api/v1/todos", json={"title": "default's"}).status_code == 201
    assert "has todos and history but no owner" in owners_cli.refused("create", "default")
    assert owners_cli.run("create", "a-fresh-name")["owner"] == "a-fresh-name"
