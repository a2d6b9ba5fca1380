"""Who is calling: sets g.owner (whose data) and g.principal (what kind of caller).

AUTH_MODE=none is the classic single-owner API: everyone is the default owner. AUTH_MODE=token
asks for `Authorization: Bearer <token>`; the token's digest names the owner. Two narrower
credentials exist: the feed token (read-only, only the calendar feed, passed as `?token=` since
calendar apps cannot send headers) and the service token (only the event feed, for another
service to read any owner's stream). Every lookup below is by owner, so a stranger's id reads as
404, never as someone else's data.
"""

from __future__ import annotations

import hmac

from flask import g, request
from sqlalchemy import Engine

from todo_api.config import Settings
from todo_api.store import owners

OWNER, FEED, SERVICE = "owner", "feed", "service"
PUBLIC_ENDPOINTS = frozenset({"health", "index", "static", "openapi"})
FEED_ENDPOINT = "calendar_feed.live_calendar"
EVENT_FEED_ENDPOINT = "events_feed.event_feed"


class Unauthorized(Exception):
    """401: no credential, or one that names nobody."""


class Forbidden(Exception):
    """403: a credential that is valid but not for this endpoint."""


def _bearer(*, required_form: bool) -> str | None:
    """The bearer token; another scheme is refused only where tokens are the rule."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if required_form:
            raise Unauthorized('use the header "Authorization: Bearer <token>"')
        return None
    return token.strip()


def _is_service(token: str | None, settings: Settings) -> bool:
    return bool(
        token and settings.service_token and hmac.compare_digest(token, settings.service_token)
    )


def authenticate(settings: Settings, engine: Engine) -> None:
    endpoint = request.endpoint or ""
    g.owner, g.principal = None, None
    if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith("bp_api_v1_docs") or not endpoint:
        return
    token = _bearer(required_form=settings.auth_mode == "token")
    if _is_service(token, settings):
        if endpoint != EVENT_FEED_ENDPOINT:
            raise Forbidden("the service token may only read the event feed")
        g.principal = SERVICE  # the view takes the owner from ?owner=
        return
    if settings.auth_mode == "none":
        g.owner, g.principal = settings.default_owner, OWNER
        return
    with engine.connect() as conn:
        if token is not None:
            g.owner = owners.by_token(conn, token)
            g.principal = OWNER
        elif endpoint == FEED_ENDPOINT and request.args.get("token"):
            g.owner = owners.by_feed_token(conn, request.args["token"])
            g.principal = FEED
    if g.owner is None:
        if g.principal is None:
            raise Unauthorized('this API needs "Authorization: Bearer <token>"')
        raise Unauthorized("the token is not valid (revoked, or never issued)")
