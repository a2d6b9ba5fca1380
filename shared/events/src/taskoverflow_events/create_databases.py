"""`taskoverflow-create-databases URL [URL ...]`: create each PostgreSQL database that is missing.

Each service owns its database; on a fresh RDS instance (which starts with one) this one-shot
creates the others. Safe to run again: existing databases are left as they are.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import text
from sqlalchemy.engine import make_url

from taskoverflow_events.persistence import make_engine


def create_missing(url: str, password: str | None = None) -> bool:
    """True when the database was created, False when it already existed."""
    target = make_url(url)
    admin = make_engine(
        target.set(database="postgres").render_as_string(hide_password=False),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+", help="database URLs, e.g. from the services' settings")
    args = parser.parse_args(argv)
    password = os.environ.get("DATABASE_PASSWORD") or None
    for url in args.urls:
        created = create_missing(url, password)
        shown = make_url(url).render_as_string(hide_password=True)
        print(f"{'created' if created else 'exists '}  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
