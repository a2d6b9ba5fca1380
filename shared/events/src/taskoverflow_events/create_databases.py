"""`taskoverflow-create-databases [--admin-user NAME] URL [URL ...]`: create each PostgreSQL
database that is missing and, with --admin-user, confine each to its service's own role.

Each service owns its database; on a fresh RDS instance (which starts with one) this one-shot
creates the others. Each URL is a service's own, as its settings give it: its user is the
service's role. With --admin-user the work is done as that user (RDS's master user, its password
in DATABASE_PASSWORD) and each database is confined to the URL's role (database_roles.py, ADR 13):
no other service's role can connect to it. Safe to run again: existing databases and roles are
kept, and the grants are put right.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from taskoverflow_events.database_roles import RDS_IAM_ROLE, ServiceDatabase, confine
from taskoverflow_events.persistence import make_engine

MAINTENANCE_DATABASE = "postgres"


def create_missing(url: str, password: str | None = None) -> bool:
    """True when the database was created, False when it already existed."""
    target = make_url(url)
    admin = make_engine(
        target.set(database=MAINTENANCE_DATABASE).render_as_string(hide_password=False),
        password=password,
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).first()
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(str(target.database))
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def as_admin(url: str, admin_user: str) -> URL:
    """The service's URL (host, port, TLS options kept) with the administrator as its user."""
    return make_url(url).set(username=admin_user, password=None)


def set_up(
    url: str, *, admin_user: str | None, password: str | None, iam_role: str = RDS_IAM_ROLE
) -> str:
    """Create the URL's database if missing and, given an administrator, confine it to the
    URL's user (granted `iam_role` where that exists). Returns what was done, for the log."""
    service = make_url(url)
    if admin_user is None or admin_user == service.username:
        created = create_missing(url, password)
        return f"{'created' if created else 'exists '}  {service.render_as_string()}"
    admin = as_admin(url, admin_user)
    created = create_missing(
        admin.set(database=service.database).render_as_string(hide_password=False), password
    )
    target = ServiceDatabase(database=str(service.database), role=str(service.username))
    confine(
        admin.set(database=MAINTENANCE_DATABASE).render_as_string(hide_password=False),
        target,
        password=password,
        iam_role=iam_role,
    )
    return (
        f"{'created' if created else 'exists '}  {service.render_as_string()}"
        f"  (only role {target.role} may connect)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+", help="database URLs, e.g. from the services' settings")
    parser.add_argument(
        "--admin-user",
        help="log in as this user (password: DATABASE_PASSWORD) and confine each database to "
        "its URL's user; without it, only create the databases, as each URL's user",
    )
    args = parser.parse_args(argv)
    password = os.environ.get("DATABASE_PASSWORD") or None
    for url in args.urls:
        print(set_up(url, admin_user=args.admin_user, password=password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
