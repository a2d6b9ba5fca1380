"""`todo-api-owners`: create owners and manage their tokens for AUTH_MODE=token, and their
webhook signing secrets.

A token is printed once, when it is made, and never again: only its digest is stored. A webhook
secret is printed once too, when the owner is made and at each rotation: it is derived from
WEBHOOK_SIGNING_KEY and the owner's secret version, and only the version is stored (ADR 11);
where the key is not set (todo-api's tasks on AWS), the version is printed for the secret to be
derived elsewhere.
Removing an owner keeps its name reserved for good (ADR 12). `--json` prints the same as one
JSON object, for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from taskoverflow_events.persistence import make_engine
from taskoverflow_events.webhook_secrets import owner_secret
from todo_api.config import Settings
from todo_api.store import owners, webhook_secrets
from todo_api.store.migrate import upgrade

NO_KEY = "WEBHOOK_SIGNING_KEY is not set here, so the owner's webhook secret cannot be shown"
# Where the key is not (todo-api's tasks on AWS), the version is printed instead, and the secret
# is derived where the key is (webhook_secrets.py in the shared package).
DERIVE = "derive it where the key is: taskoverflow-webhook-secret {owner} {version}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo-api-owners", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("create", "create an owner; prints its tokens and webhook secret once"),
        ("rotate-token", "replace the owner's API token; the old one stops working"),
        ("rotate-feed-token", "replace the owner's feed token (calendar subscription URL)"),
        ("revoke-feed-token", "stop the owner's calendar subscription URL working"),
        (
            "rotate-webhook-secret",
            "a new webhook secret, shown once; the old one signs too a while",
        ),
        ("remove", "take the owner's access away for good; the name stays reserved"),
    ]:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("owner")
        if name == "rotate-webhook-secret":
            command.add_argument(
                "--version-only",
                action="store_true",
                help="where WEBHOOK_SIGNING_KEY is not set (todo-api on AWS): rotate anyway and"
                " print the new version, to derive the secret where the key is",
            )
            command.add_argument(
                "--grace-seconds",
                type=float,
                help="how long the old secret also signs (default WEBHOOK_SECRET_GRACE_SECONDS,"
                " 86400); 0 stops it at once, for a secret that leaked",
            )
    commands.add_parser("list", help="the owners' names")
    return parser


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _run(
    conn: Connection, args: argparse.Namespace, settings: Settings, feed_url: str
) -> dict[str, object]:
    key = settings.webhook_signing_key
    if args.command == "create":
        made = owners.create(conn, args.owner, now=_now())
        return {
            "owner": made.owner,
            "token": made.token,
            "feed_token": made.feed_token,
            "feed_url": feed_url + made.feed_token,
            "webhook_secret": owner_secret(key, made.owner, 1) if key else None,
            "webhook_secret_version": 1,
        }
    if args.command == "rotate-token":
        return {"owner": args.owner, "token": owners.rotate_token(conn, args.owner)}
    if args.command == "rotate-feed-token":
        token = owners.rotate_feed_token(conn, args.owner)
        return {"owner": args.owner, "feed_token": token, "feed_url": feed_url + token}
    if args.command == "revoke-feed-token":
        owners.revoke_feed_token(conn, args.owner)
        return {"owner": args.owner, "feed_token": None}
    if args.command == "rotate-webhook-secret":
        if not key and not args.version_only:
            # A forgotten export must not start the old secret's grace unseen.
            raise ValueError(NO_KEY + "; nothing was changed (--version-only rotates anyway)")
        grace = args.grace_seconds
        if grace is None:
            grace = settings.webhook_secret_grace_seconds
        if grace < 0:
            raise ValueError("--grace-seconds must not be negative")
        rotated = webhook_secrets.rotate(
            conn, args.owner, now=_now(), grace=timedelta(seconds=grace)
        )
        until = rotated.previous_valid_until
        return {
            "owner": args.owner,
            "webhook_secret": owner_secret(key, args.owner, rotated.version) if key else None,
            "webhook_secret_version": rotated.version,
            "previous_valid_until": None if until is None else f"{until:%Y-%m-%dT%H:%M:%S}Z",
        }
    if args.command == "remove":
        owners.remove(conn, args.owner, now=_now())
        return {"owner": args.owner, "removed": True}
    return {"owners": owners.names(conn)}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    feed_url = (settings.public_url or f"http://localhost:{settings.port}").rstrip("/")
    feed_url += "/api/v1/calendar.ics?token="
    try:
        with engine.begin() as conn:
            result = _run(conn, args, settings, feed_url)
    except (ValueError, LookupError) as exc:
        print(f"todo-api-owners: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{name}: {shown}")
        if (
            any(k in result for k in ("token", "feed_token"))
            and args.command != "revoke-feed-token"
        ):
            print("(tokens are shown this once; only their digests are stored)")
        if result.get("webhook_secret"):
            print("(the webhook secret is shown this once; verify webhooks with it)")
    if "webhook_secret" in result and result["webhook_secret"] is None:
        derive = DERIVE.format(owner=args.owner, version=result["webhook_secret_version"])
        print(f"todo-api-owners: {NO_KEY}; {derive}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
