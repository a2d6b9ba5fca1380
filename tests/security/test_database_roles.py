"""The setup step's database roles, applied for real to the local PostgreSQL as RDS's master
user would apply them (conftest.py): each service's role reaches its own database and no other;
in particular the notifier, which calls URLs its owners give it, cannot read todo-api's owners."""

from __future__ import annotations

import uuid

import pytest
from ical_worker.store.tables import create_schema
from notifier.store.migrate import upgrade as upgrade_notifier
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from taskoverflow_events.create_databases import main
from taskoverflow_events.persistence import make_engine
from tests.security.conftest import SERVICES, SUPERUSER, Instance, superuser
from tests.security.conftest import run_setup as setup_as_master
from todo_api.store.migrate import upgrade as upgrade_todo_api


def run_setup(instance: Instance) -> None:
    """What the setup task runs, with this test's stand-in for rds_iam. PostgreSQL 16 makes the
    master user a member of each role it creates, so there the setup refuses to grant that role
    (test_the_master_keeps_its_password.py), and these tests confine the databases as on a
    server without rds_iam."""
    absent = f"{instance.iam_role}_absent"
    setup_as_master(instance, absent if instance.creator_is_member else instance.iam_role)


def each_service_migrates_as_its_role(instance: Instance) -> None:
    """As each service does once it runs under its own role (todo-api: the setup task)."""
    for service, migrate in (
        ("todo-api", upgrade_todo_api),
        ("ical-worker", create_schema),
        ("notifier", upgrade_notifier),
    ):
        engine = make_engine(instance.urls[service])
        migrate(engine)
        engine.dispose()


def connect_as(user: str, instance: Instance, service: str) -> str:
    """Log in as `user` to `service`'s database: the user the session runs as."""
    engine = make_engine(instance.url_as(user, service))
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT current_user")).scalar_one())
    finally:
        engine.dispose()


def owners_in_public_schema(instance: Instance, service: str) -> set[str]:
    """Who owns the tables, views, sequences and functions of a service's database."""
    engine = make_engine(instance.url_as(SUPERUSER, service))
    with engine.connect() as conn:
        owners = conn.execute(
            text(
                "SELECT pg_get_userbyid(relowner) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
                " UNION SELECT pg_get_userbyid(proowner) FROM pg_proc p"
                " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
            )
        ).scalars()
        found = set(owners)
    engine.dispose()
    return found


@pytest.mark.integration
def test_each_service_role_connects_to_its_own_database_and_no_other(
    instance: Instance,
) -> None:
    run_setup(instance)
    each_service_migrates_as_its_role(instance)
    for service in SERVICES:
        role = instance.role(service)
        assert connect_as(role, instance, service) == role
        for other in set(SERVICES) - {service}:
            with pytest.raises(OperationalError, match="permission denied for database"):
                connect_as(role, instance, other)


@pytest.mark.integration
def test_the_notifier_role_cannot_read_todo_apis_owners_table(instance: Instance) -> None:
    run_setup(instance)
    notifier = instance.role("notifier")
    with pytest.raises(OperationalError, match="permission denied for database"):
        connect_as(notifier, instance, "todo-api")
    # Nor would it get further were it let in: not one table there grants it anything.
    engine = make_engine(instance.url_as(SUPERUSER, "todo-api"))
    with engine.connect() as conn:
        readable = conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')"
                " AND has_table_privilege(:role, c.oid, 'SELECT, INSERT, UPDATE, DELETE')"
            ),
            {"role": notifier},
        ).scalars()
        assert list(readable) == []
        assert conn.execute(text("SELECT to_regclass('public.owners')")).scalar() is not None
    engine.dispose()
    # Whereas todo-api's own role reads it.
    engine = make_engine(instance.urls["todo-api"])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM owners")).scalar_one() == 0
    engine.dispose()


@pytest.mark.integration
def test_a_role_given_nothing_connects_to_none_of_the_databases(instance: Instance) -> None:
    run_setup(instance)
    stranger = f"stranger_{uuid.uuid4().hex[:8]}"
    admin = superuser()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{stranger}" LOGIN'))
    try:
        for service in SERVICES:
            with pytest.raises(OperationalError, match="permission denied for database"):
                connect_as(stranger, instance, service)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE "{stranger}"'))
        admin.dispose()


@pytest.mark.integration
def test_what_the_master_user_migrated_before_becomes_the_service_roles(
    instance: Instance,
) -> None:
    assert owners_in_public_schema(instance, "todo-api") == {instance.master}
    run_setup(instance)
    each_service_migrates_as_its_role(instance)
    for service in SERVICES:
        assert owners_in_public_schema(instance, service) == {instance.role(service)}, service
    # The release before logs in as the master user, and runs on while the deploy replaces it.
    engine = make_engine(instance.url_as(instance.master, "todo-api"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM owners WHERE false"))
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    engine.dispose()


@pytest.mark.integration
def test_the_command_line_creates_and_confines_without_an_iam_role(
    instance: Instance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A local PostgreSQL has no rds_iam: the setup still confines every database."""
    monkeypatch.delenv("DATABASE_PASSWORD", raising=False)
    assert main(["--admin-user", instance.master, *instance.urls.values()]) == 0
    printed = capsys.readouterr().out
    assert printed.count("created") == 2, printed  # todo-api's came with the instance
    assert printed.count("only role") == 3, printed
    notifier = instance.role("notifier")
    assert connect_as(notifier, instance, "notifier") == notifier
    with pytest.raises(OperationalError, match="permission denied for database"):
        connect_as(notifier, instance, "todo-api")
