"""Each owner's webhook secret (ADR 11), on PostgreSQL: `todo-api-owners` shows it once, when the
owner is made and at each rotation; only its version is stored; and a calendar request carries
the owner's versions (never a secret) for the notifier to sign with."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from taskoverflow_events.callback_urls import parse_networks
from taskoverflow_events.webhook_secrets import main as derive_secret
from taskoverflow_events.webhook_secrets import owner_secret
from taskoverflow_testing.plugin import AwsEndpoint, aws_settings_for
from todo_api.admin import owners as owners_admin
from todo_api.api import create_app
from todo_api.application import TodoApplication
from todo_api.config import Settings
from todo_api.store.tables import events


def test_create_shows_the_owners_webhook_secret_once_and_stores_no_secret(
    owners_cli: Any, pg_engine: Engine
) -> None:
    carol, dave = owners_cli.run("create", "carol"), owners_cli.run("create", "dave")
    assert carol["webhook_secret"] == owner_secret(owners_cli.signing_key, "carol", 1)
    assert dave["webhook_secret"] == owner_secret(owners_cli.signing_key, "dave", 1)
    assert carol["webhook_secret"] != dave["webhook_secret"]
    with pg_engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM owners")).all()
    dump = json.dumps([[str(value) for value in row] for row in rows])
    assert carol["webhook_secret"] not in dump
    assert owners_cli.signing_key not in dump


def test_rotating_shows_the_next_secret_and_the_old_one_signs_for_the_grace(
    owners_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owners_cli.run("create", "carol")
    monkeypatch.setenv("WEBHOOK_SECRET_GRACE_SECONDS", "600")
    before = datetime.now(UTC).replace(tzinfo=None)
    rotated = owners_cli.run("rotate-webhook-secret", "carol")
    assert rotated["webhook_secret"] == owner_secret(owners_cli.signing_key, "carol", 2)
    assert rotated["webhook_secret_version"] == 2
    until = datetime.fromisoformat(rotated["previous_valid_until"].removesuffix("Z"))
    assert before + timedelta(seconds=599) <= until <= before + timedelta(seconds=660)
    # A secret that leaked is replaced with no grace at all.
    at_once = owners_cli.run("rotate-webhook-secret", "carol", "--grace-seconds", "0")
    assert at_once["webhook_secret"] == owner_secret(owners_cli.signing_key, "carol", 3)
    assert at_once["previous_valid_until"] is None
    assert "no owner" in owners_cli.refused("rotate-webhook-secret", "nobody")
    monkeypatch.setenv("WEBHOOK_SIGNING_KEY", owners_cli.signing_key)
    assert owners_cli.run("rotate-webhook-secret", "carol")["webhook_secret_version"] == 4


def test_where_the_key_is_not_the_version_is_shown_and_the_secret_derived_elsewhere(
    owners_cli: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As on AWS: todo-api's tasks do not hold WEBHOOK_SIGNING_KEY (only the notifier does)."""
    monkeypatch.delenv("WEBHOOK_SIGNING_KEY")
    made = owners_cli.run("create", "erin")
    assert (made["webhook_secret"], made["webhook_secret_version"]) == (None, 1)
    # A forgotten export must not rotate unseen: only when asked to.
    assert "WEBHOOK_SIGNING_KEY" in owners_cli.refused("rotate-webhook-secret", "erin")
    assert owners_admin.main(["rotate-webhook-secret", "erin", "--version-only"]) == 0
    out, err = capsys.readouterr()
    assert "webhook_secret_version: 2" in out
    assert "whsec_" not in out
    assert "taskoverflow-webhook-secret erin 2" in err
    # Where the key is (an operator's shell, with it read from Secrets Manager):
    monkeypatch.setenv("WEBHOOK_SIGNING_KEY", owners_cli.signing_key)
    assert derive_secret(["erin", "2"]) == 0
    assert capsys.readouterr().out.strip() == owner_secret(owners_cli.signing_key, "erin", 2)


def test_a_calendar_request_carries_the_owners_secret_versions_and_no_secret(
    owners_cli: Any,
    pg_url: str,
    pg_engine: Engine,
    application: TodoApplication,
    aws_endpoint: AwsEndpoint,
) -> None:
    carol = owners_cli.run("create", "carol")
    rotated = owners_cli.run("rotate-webhook-secret", "carol")
    settings = Settings(
        database_url=pg_url,
        aws=aws_settings_for(aws_endpoint.url),
        auth_mode="token",
        callback_allowed_networks=parse_networks("127.0.0.0/8"),
    )
    api = create_app(settings, application=application).test_client()
    auth = {"Authorization": f"Bearer {carol['token']}"}
    hook = {"callback_url": "http://127.0.0.1:9/hook"}
    assert api.post("/api/v1/todos/ical", json=hook, headers=auth).status_code == 202
    assert api.post("/api/v1/todos/ical", headers=auth).status_code == 202
    with pg_engine.connect() as conn:
        bodies = conn.execute(
            select(events.c.body)
            .where(events.c.event_type == "CalendarRequested")
            .order_by(events.c.sequence)
        ).scalars()
        hooked, plain = list(bodies)
    assert json.loads(hooked)["data"]["signing"] == {
        "secret_version": 2,
        "previous_valid_until": rotated["previous_valid_until"],
    }
    assert json.loads(plain)["data"].get("signing") is None, "no callback, nothing to sign"
    for body in (hooked, plain):
        assert "whsec_" not in body
        assert owners_cli.signing_key not in body
