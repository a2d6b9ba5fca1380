"""Schemathesis against the live API over HTTP (PostgreSQL, moto server, AUTH_MODE=token): the
inputs it makes from the OpenAPI document, valid and invalid, never get a 5xx, and every answer
has a documented status, content type and schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from taskoverflow_events.calendar_keys import feed_key
from taskoverflow_events.callback_urls import parse_networks
from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.http_servers import serve_wsgi
from taskoverflow_testing.plugin import AwsEndpoint, new_aws_world
from todo_api.api import create_app, openapi
from todo_api.application import TodoApplication
from todo_api.config import Settings
from todo_api.domain.commands import CreateTodo
from todo_api.store import owners
from todo_api.store.migrate import upgrade

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_api(
    postgres_database: Callable[[], str], aws_endpoint: AwsEndpoint
) -> Iterator[tuple[str, str]]:
    """A served todo-api with one owner holding a few todos and a calendar job."""
    url = postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    world = new_aws_world(aws_endpoint.url)
    with engine.begin() as conn:
        owner = owners.create(conn, "fuzz", now=datetime.now(UTC).replace(tzinfo=None))
    todos = TodoApplication(engine)
    for n in range(1, 6):
        todos.create("fuzz", CreateTodo(title=f"todo {n}"))
    # The worker's live feed, as it would have written it: without one, an owner with todos is
    # answered 503 until it is (documented, but a 5xx the fuzzer's first check refuses).
    world.settings.client("s3").put_object(
        Bucket=world.topology.bucket,
        Key=feed_key("fuzz"),
        Body=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
    )
    app = create_app(
        Settings(
            database_url=url,
            aws=world.settings,
            auth_mode="token",
            callback_allowed_networks=parse_networks("127.0.0.0/8"),
        ),
        application=todos,
    )
    with serve_wsgi(app) as base_url:
        yield base_url, owner.token
    engine.dispose()


# The document the app serves (a test in test_bad_input.py holds the two equal). Loaded at import,
# as schemathesis parametrizes at collection; its from_fixture does not work with pytest 9.
schema = schemathesis.openapi.from_dict(openapi.document())


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
def test_the_api_honours_its_openapi_document(case: Any, live_api: tuple[str, str]) -> None:
    base_url, token = live_api
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
        timeout=10,
    )
