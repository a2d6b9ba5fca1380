"""`todo-api-owners`: create owners and manage their tokens for AUTH_MODE=token.

A token is printed once, when it is made, and never again: only its digest is stored. `--json`
prints the same as one JSON object, for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from taskoverflow_events.persistence import make_engine
from todo_api.config import Settings
from todo_api.store import owners
from todo_api.store.migrate import upgrade


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo-api-owners", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("create", "create an owner; prints its API token and feed token once"),
        ("rotate-token", "replace the owner's API token; the old one stops working"),
        ("rotate-feed-token", "replace the owner's feed token (calendar subscription URL)"),
        ("revoke-feed-token", "stop the owner's calendar subscription URL working"),
        ("remove", "take the owner's access away (their events stay)"),
    ]:
        commands.add_parser(name, help=help_text).add_argument("owner")
    commands.add_parser("list", help="the owners' names")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    engine = make_engine(settings.database_url, password=settings.database_password)
    upgrade(engine)
    feed_url = (settings.public_url or f"http://localhost:{settings.port}").rstrip("/")
    feed_url += "/api/v1/calendar.ics?token="
    result: dict[str, object]
    try:
        with engine.begin() as conn:
            if args.command == "create":
                made = owners.create(conn, args.owner, now=datetime.now(UTC).replace(tzinfo=None))
                result = {
                    "owner": made.owner,
                    "token": made.token,
                    "feed_token": made.feed_token,
                    "feed_url": feed_url + made.feed_token,
                }
            elif args.command == "rotate-token":
                result = {"owner": args.owner, "token": owners.rotate_token(conn, args.owner)}
            elif args.command == "rotate-feed-token":
                token = owners.rotate_feed_token(conn, args.owner)
                result = {"owner": args.owner, "feed_token": token, "feed_url": feed_url + token}
            elif args.command == "revoke-feed-token":
                owners.revoke_feed_token(conn, args.owner)
                result = {"owner": args.owner, "feed_token": None}
            elif args.command == "remove":
                owners.remove(conn, args.owner)
                result = {"owner": args.owner, "removed": True}
            else:
                result = {"owners": owners.names(conn)}
    except (ValueError, LookupError) as exc:
        print(f"todo-api-owners: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{key}: {shown}")
        if (
            any(k in result for k in ("token", "feed_token"))
            and args.command != "revoke-feed-token"
        ):
            print("(tokens are shown this once; only their digests are stored)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
