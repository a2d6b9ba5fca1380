"""Every limit is a clear 4xx that changes nothing, and the OpenAPI document matches the routes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from taskoverflow_events.callback_urls import parse_networks
from todo_api.api import create_app
from todo_api.api.openapi import OPERATIONS
from todo_api.application import TodoApplication
from todo_api.config import Settings

TODOS = "/api/v1/todos"


def stored(client: FlaskClient) -> list[dict[str, Any]]:
    return client.get("/api/v1/events?limit=1000").json["events"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 501}, "title"),
        ({"title": "ok", "description": "d" * 10_001}, "description"),
        ({"title": "ok", "deadline_at": "1969-12-31T23:59:59"}, "deadline_at"),
        ({"title": "ok", "deadline_at": "9999-12-31T23:59:59-05:00"}, "deadline_at"),
        ({"title": "ok", "deadline_at": "0001-01-01T00:00:00+01:00"}, "deadline_at"),
        ({"title": "ok", "deadline_at": "10000-01-01T00:00:00"}, "deadline_at"),
        ({"title": "ok", "colour": "red"}, "colour"),
    ],
)
def test_out_of_range_fields_are_400_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    response = client.post(TODOS, json=body)
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{field}:"), response.json
    assert stored(client) == []


def test_a_title_at_the_limit_is_fine(client: FlaskClient) -> None:
    assert client.post(TODOS, json={"title": "x" * 500}).status_code == 201


def test_a_body_over_64_kib_is_413_and_stores_nothing(client: FlaskClient) -> None:
    response = client.post(TODOS, json={"title": "t", "description": "d" * 70_000})
    assert response.status_code == 413
    assert "error" in response.json
    assert stored(client) == []


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        (f"{TODOS}?window=abc", "window"),
        (f"{TODOS}?window=99999999999999999999", "window"),
        (f"{TODOS}?completed=maybe", "completed"),
        (f"{TODOS}?colour=red", "colour"),
        ("/api/v1/events?after=-1", "after"),
        ("/api/v1/events?after=99999999999", "after"),
        ("/api/v1/events?limit=5000", "limit"),
        ("/api/v1/events?page=2", "page"),
        ("/api/v1/todos/1?expand=all", "expand"),
        ("/api/v1/calendar.ics?format=json", "format"),
    ],
)
def test_bad_and_unknown_query_parameters_are_400_naming_them(
    client: FlaskClient, path: str, parameter: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{parameter}:"), response.json


@pytest.mark.parametrize("path", ["/?utm_source=x", "/static/app.js?v=2", "/api/v1/docs/?x=1"])
def test_pages_and_assets_ignore_query_strings(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_an_id_beyond_the_store_is_simply_not_found(client: FlaskClient) -> None:
    assert client.get(f"{TODOS}/{2**40}").status_code == 404
    assert client.put(f"{TODOS}/{2**63}", json={"title": "x"}).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/x",
        "http://[::1]/x",
        "file:///etc/passwd",
    ],
)
def test_callbacks_to_internal_addresses_are_refused(client: FlaskClient, url: str) -> None:
    response = client.post(f"{TODOS}/ical", json={"callback_url": url})
    assert response.status_code == 400
    assert response.json["error"].startswith("callback_url:")
    assert stored(client) == [], "no CalendarRequested for a refused job"


def test_a_callback_name_is_not_resolved_in_the_request(client: FlaskClient) -> None:
    """A slow name server must not hold a web thread, and what our DNS says about a name is not
    the caller's to learn: the request checks the URL's form and literal addresses only, and the
    notifier resolves the name, within its delivery deadline, before it connects."""
    response = client.post(f"{TODOS}/ical", json={"callback_url": "http://localhost/hook"})
    assert response.status_code == 202, response.json
    [requested] = [e for e in stored(client) if e["event_type"] == "CalendarRequested"]
    assert requested["data"]["notify"] == "http://localhost/hook"


def test_an_allowed_network_may_receive_callbacks(
    settings: Settings, application: TodoApplication
) -> None:
    allowing = replace(settings, callback_allowed_networks=parse_networks("127.0.0.0/8"))
    client = create_app(allowing, application=application).test_client()
    response = client.post(f"{TODOS}/ical", json={"callback_url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 202
    assert (
        client.post(f"{TODOS}/ical", json={"callback_url": "http://10.0.0.8/"}).status_code == 400
    )


def test_the_openapi_document_names_every_route_and_only_those(client: FlaskClient) -> None:
    app = client.application
    routes = {
        (rule.endpoint, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and not rule.rule.startswith("/api/v1/docs")
        and rule.endpoint != "openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(op.endpoint, op.method) for op in OPERATIONS}
    assert routes == documented
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {op.path for op in OPERATIONS}
    listed = document["paths"]["/api/v1/todos"]["get"]["parameters"]
    assert {p["name"] for p in listed} == {"completed", "window"}


def test_the_browsable_docs_page_and_its_assets_are_served_locally(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.data
    assert client.get("/api/v1/docs/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/docs/swagger.json").json == client.get("/api/v1/openapi.json").json
