"""A PostgreSQL set up as RDS would be, on the machine's server: a master user that is no
superuser (CREATEDB, CREATEROLE), owning todo-api's database, which an earlier release migrated
as that user. Every role and database gets a random suffix, so parallel runs never meet, and all
are dropped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from taskoverflow_events.create_databases import set_up
from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.postgres import admin_url, drop_database
from todo_api.store.migrate import upgrade

SERVICES = ("todo-api", "ical-worker", "notifier")
SUPERUSER = str(make_url(admin_url()).username)


@dataclass(frozen=True)
class Instance:
    """The instance's master user, and each service's own URL (its role as the user)."""

    master: str
    iam_role: str  # stands in for RDS's rds_iam, under a name of this test's own
    urls: dict[str, str]
    # PostgreSQL 16 and later make a CREATEROLE user a member of each role it creates, for good
    # (admin_membership.py): there the setup refuses to grant the IAM role.
    creator_is_member: bool

    def role(self, service: str) -> str:
        return str(make_url(self.urls[service]).username)

    def database(self, service: str) -> str:
        return str(make_url(self.urls[service]).database)

    def url_as(self, user: str, service: str) -> str:
        """Service `service`'s database, logged in to as `user`."""
        return make_url(self.urls[service]).set(username=user).render_as_string(hide_password=False)


def superuser() -> Engine:
    return create_engine(admin_url(), isolation_level="AUTOCOMMIT")


def run_setup(instance: Instance, iam_role: str) -> None:
    """What the setup task runs, as the master user, with `iam_role` standing in for rds_iam."""
    for service in SERVICES:
        set_up(instance.urls[service], admin_user=instance.master, password=None, iam_role=iam_role)


def is_member(member: str, role: str, how: str = "MEMBER") -> bool:
    """pg_has_role: MEMBER for any membership, direct or not, USAGE for one that inherits."""
    engine = superuser()
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT pg_has_role(:member, :role, :how)"),
                    {"member": member, "role": role, "how": how},
                ).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.fixture
def instance(postgres_database: Callable[[], str]) -> Iterator[Instance]:
    suffix = uuid.uuid4().hex[:8]
    master, iam_role = f"master_{suffix}", f"rds_iam_{suffix}"
    server = make_url(postgres_database())  # todo-api's: made with the instance, as on RDS
    names = {service: f"{service.replace('-', '_')}_{suffix}" for service in SERVICES}
    databases = {**names, "todo-api": str(server.database)}  # the others: made by the setup
    urls = {}
    for service in SERVICES:
        url = server.set(username=names[service], database=databases[service])
        urls[service] = url.render_as_string(hide_password=False)
    engine = superuser()
    with engine.connect() as conn:
        modern = int(conn.execute(text("SHOW server_version_num")).scalar_one()) >= 160000
    found = Instance(master=master, iam_role=iam_role, urls=urls, creator_is_member=modern)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{master}" LOGIN CREATEDB CREATEROLE'))
            conn.execute(text(f'CREATE ROLE "{iam_role}" NOLOGIN'))
            if modern:
                # From 16 on, a CREATEROLE user grants only roles it administers; RDS's master
                # user administers rds_iam without being a member that inherits it.
                grant = f'GRANT "{iam_role}" TO "{master}"'
                conn.execute(text(f"{grant} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE"))
            conn.execute(text(f'ALTER DATABASE "{server.database}" OWNER TO "{master}"'))
        earlier_release = make_engine(found.url_as(master, "todo-api"))
        upgrade(earlier_release)  # todo-api's tables, owned by the master user
        earlier_release.dispose()
        yield found
    finally:
        for url in urls.values():
            drop_database(url)
        with engine.connect() as conn:
            for role in [*names.values(), iam_role, master]:
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        engine.dispose()
