"""AUTH_MODE=token against PostgreSQL: every endpoint wants a token, and each owner sees only
their own todos, events, jobs, results and feed; anyone else's reads as 404."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from taskoverflow_testing.plugin import AwsEndpoint, AwsWorld, new_aws_world
from todo_api.admin import owners as owners_cli
from todo_api.api import create_app
from todo_api.api.openapi import OPERATIONS
from todo_api.application import TodoApplication
from todo_api.config import Settings
from todo_api.store import owners
from todo_api.store.tables import owners as owners_table

SERVICE_TOKEN = "service-token-for-tests"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def world(aws_endpoint: AwsEndpoint) -> AwsWorld:
    """One topology for the module: only the calendar feed reads it (its bucket)."""
    return new_aws_world(aws_endpoint.url)


@pytest.fixture
def token_client(pg_url: str, world: AwsWorld, application: TodoApplication) -> FlaskClient:
    settings = Settings(
        database_url=pg_url,
        aws=world.settings,
        auth_mode="token",
        service_token=SERVICE_TOKEN,
    )
    return create_app(settings, application=application).test_client()


@pytest.fixture
def make_owner(pg_engine: Engine) -> Callable[[str], owners.NewOwner]:
    def make(name: str) -> owners.NewOwner:
        with pg_engine.begin() as conn:
            return owners.create(conn, name, now=now())

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def concrete(path: str, todo_id: int = 1, task_id: str = "x") -> str:
    return path.replace("{todo_id}", str(todo_id)).replace("{task_id}", task_id)


PROTECTED = [op for op in OPERATIONS if not op.public]


@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_every_endpoint_but_health_and_docs_is_401_without_a_valid_token(
    token_client: FlaskClient, op
) -> None:
    for headers in ({}, bearer("tof_not-a-token"), {"Authorization": "Basic dXNlcjpwdw=="}):
        response = token_client.open(concrete(op.path), method=op.method.upper(), headers=headers)
        assert response.status_code == 401, (headers, response.json)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["error"]


@pytest.mark.parametrize("path", ["/api/v1/health", "/health", "/api/v1/openapi.json", "/"])
def test_public_pages_need_no_token(token_client: FlaskClient, path: str) -> None:
    assert token_client.get(path).status_code == 200


def test_a_stranger_gets_404_for_every_one_of_anothers_resources(
    token_client: FlaskClient, make_owner: Callable[[str], owners.NewOwner]
) -> None:
    alice, bob = make_owner("alice"), make_owner("bob")
    todo = token_client.post(
        "/api/v1/todos",
        json={"title": "Alice's", "deadline_at": "2030-01-01T09:00:00"},
        headers=bearer(alice.token),
    ).json
    job = token_client.post("/api/v1/todos/ical", headers=bearer(alice.token)).json
    alice_paths = {
        "todo": f"/api/v1/todos/{todo['id']}",
        "history": f"/api/v1/todos/{todo['id']}/events",
        "status": f"/api/v1/todos/ical/{job['task_id']}/status",
        "result": f"/api/v1/todos/ical/{job['task_id']}/result",
        "alice's feed by name": "/api/v1/events?owner=alice",
    }
    for name, path in alice_paths.items():
        assert token_client.get(path, headers=bearer(bob.token)).status_code == 404, name
    assert (
        token_client.put(
            alice_paths["todo"], json={"title": "Bob was here"}, headers=bearer(bob.token)
        ).status_code
        == 404
    )
    assert token_client.delete(alice_paths["todo"], headers=bearer(bob.token)).status_code == 404
    assert token_client.get("/api/v1/todos", headers=bearer(bob.token)).json == []
    assert token_client.get("/api/v1/events", headers=bearer(bob.token)).json["events"] == []
    # Nothing Bob tried changed Alice's todo; she still sees all of it.
    mine = token_client.get(alice_paths["todo"], headers=bearer(alice.token))
    assert mine.status_code == 200
    assert mine.json["title"] == "Alice's"
    assert token_client.get(alice_paths["status"], headers=bearer(alice.token)).status_code == 200
    assert [
        e["owner"]
        for e in token_client.get("/api/v1/events", headers=bearer(alice.token)).json["events"]
    ] == ["alice", "alice"]


def test_ids_are_global_so_another_owners_id_is_not_reused(
    token_client: FlaskClient, make_owner: Callable[[str], owners.NewOwner]
) -> None:
    alice, bob = make_owner("alice"), make_owner("bob")
    a = token_client.post("/api/v1/todos", json={"title": "a"}, headers=bearer(alice.token)).json
    b = token_client.post("/api/v1/todos", json={"title": "b"}, headers=bearer(bob.token)).json
    assert a["id"] != b["id"]
    assert [t["id"] for t in token_client.get("/api/v1/todos", headers=bearer(bob.token)).json] == [
        b["id"]
    ]


def test_the_feed_token_opens_only_the_calendar_feed_and_can_be_revoked(
    token_client: FlaskClient, make_owner: Callable[[str], owners.NewOwner], pg_engine: Engine
) -> None:
    alice = make_owner("alice")
    feed = f"/api/v1/calendar.ics?token={alice.feed_token}"
    response = token_client.get(feed)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert token_client.get("/api/v1/calendar.ics", headers=bearer(alice.token)).status_code == 200
    # Read-only and narrow: not a key to the todos, not as a bearer token either.
    assert token_client.get(f"/api/v1/todos?token={alice.feed_token}").status_code == 401
    assert token_client.get("/api/v1/todos", headers=bearer(alice.feed_token)).status_code == 401
    with pg_engine.begin() as conn:
        owners.revoke_feed_token(conn, "alice")
    assert token_client.get(feed).status_code == 401
    with pg_engine.begin() as conn:
        fresh = owners.rotate_feed_token(conn, "alice")
    assert token_client.get(f"/api/v1/calendar.ics?token={fresh}").status_code == 200
    assert token_client.get("/api/v1/todos", headers=bearer(alice.token)).status_code == 200


def test_the_service_token_reads_any_owners_feed_and_nothing_else(
    token_client: FlaskClient, make_owner: Callable[[str], owners.NewOwner]
) -> None:
    alice = make_owner("alice")
    token_client.post("/api/v1/todos", json={"title": "a"}, headers=bearer(alice.token))
    page = token_client.get("/api/v1/events?owner=alice", headers=bearer(SERVICE_TOKEN))
    assert page.status_code == 200
    assert [e["owner"] for e in page.json["events"]] == ["alice"]
    no_owner = token_client.get("/api/v1/events", headers=bearer(SERVICE_TOKEN))
    assert no_owner.status_code == 400
    assert "owner" in no_owner.json["error"]
    assert token_client.get("/api/v1/todos", headers=bearer(SERVICE_TOKEN)).status_code == 403


def test_a_rotated_api_token_replaces_the_old_one(
    token_client: FlaskClient, make_owner: Callable[[str], owners.NewOwner], pg_engine: Engine
) -> None:
    alice = make_owner("alice")
    with pg_engine.begin() as conn:
        fresh = owners.rotate_token(conn, "alice")
    assert token_client.get("/api/v1/todos", headers=bearer(alice.token)).status_code == 401
    assert token_client.get("/api/v1/todos", headers=bearer(fresh)).status_code == 200


def test_the_cli_prints_tokens_once_and_stores_only_digests(
    pg_url: str,
    pg_engine: Engine,
    token_client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PUBLIC_URL", "https://todo.example.com")
    assert owners_cli.main(["--json", "create", "carol"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert re.fullmatch(r"tof_[A-Za-z0-9_-]{43}", made["token"])
    assert (
        made["feed_url"]
        == f"https://todo.example.com/api/v1/calendar.ics?token={made['feed_token']}"
    )
    assert token_client.get("/api/v1/todos", headers=bearer(made["token"])).status_code == 200
    with pg_engine.connect() as conn:
        row = conn.execute(select(owners_table).where(owners_table.c.owner == "carol")).one()
        dump = json.dumps([str(v) for v in conn.execute(text("SELECT * FROM owners")).one()])
    assert row.token_sha256 == hashlib.sha256(made["token"].encode()).hexdigest()
    assert made["token"] not in dump
    assert made["feed_token"] not in dump
    # The same name twice, or a name unfit for a queue group id, is refused with exit code 2.
    assert owners_cli.main(["create", "carol"]) == 2
    assert owners_cli.main(["create", "no spaces/please"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert owners_cli.main(["list"]) == 0
    assert "carol" in capsys.readouterr().out


def test_auth_mode_none_keeps_the_classic_single_owner_api(client: FlaskClient) -> None:
    created = client.post("/api/v1/todos", json={"title": "no token needed"})
    assert created.status_code == 201
    assert client.get("/api/v1/events").json["events"][0]["owner"] == "default"
    assert client.get("/api/v1/events?owner=someone-else").status_code == 404


def test_an_unknown_auth_mode_stops_the_process_at_start() -> None:
    with pytest.raises(ValueError, match="AUTH_MODE"):
        Settings.from_env({"AUTH_MODE": "tokens"})
