"""The setup never commits a state in which the master user inherits a role granted rds_iam: on
RDS that member has to log in with IAM, and the setup task, which logs in with the master
password, would be locked out (admin_membership.py).

The local server is PostgreSQL 15, where the master user is a member of a service's role only if
someone granted it: the tests make it one, by a grant it may revoke and through a role it cannot
leave. The tests marked for 16 run where TEST_POSTGRES_ADMIN_URL names a PostgreSQL 16 server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from taskoverflow_events.admin_membership import AdministratorWouldNeedIam
from taskoverflow_events.create_databases import set_up
from taskoverflow_events.persistence import make_engine
from tests.security.conftest import SERVICES, Instance, is_member, run_setup, superuser

ON_16 = "from PostgreSQL 16 on, the master user is a member of every role it creates"


def as_master(instance: Instance, *statements: str) -> None:
    engine = make_engine(instance.url_as(instance.master, "todo-api"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def as_superuser(*statements: str) -> None:
    engine = superuser()
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


@pytest.fixture
def bridge() -> Iterator[str]:
    """A role of the superuser's, which the master user may not leave or change."""
    name = f"bridge_{uuid.uuid4().hex[:8]}"
    as_superuser(f'CREATE ROLE "{name}" NOLOGIN')
    yield name
    as_superuser(f'DROP ROLE IF EXISTS "{name}"')


@pytest.mark.integration
def test_roles_get_the_iam_role_and_the_master_is_never_a_member_of_one(
    instance: Instance,
) -> None:
    if instance.creator_is_member:
        pytest.skip(ON_16)
    run_setup(instance, instance.iam_role)
    run_setup(instance, instance.iam_role)  # at every release: again changes nothing
    for service in SERVICES:
        role = instance.role(service)
        assert is_member(role, instance.iam_role, "USAGE"), service
        # Not even a member that inherits nothing: RDS may ask any member for an IAM token.
        assert not is_member(instance.master, role), service
    assert not is_member(instance.master, instance.iam_role)


@pytest.mark.integration
def test_a_membership_the_master_may_end_is_ended_before_the_iam_grant_commits(
    instance: Instance,
) -> None:
    if instance.creator_is_member:
        pytest.skip(ON_16)
    role = instance.role("notifier")
    # As createrole_self_grant = 'set, inherit' does on 16, or a person by hand.
    as_master(instance, f'CREATE ROLE "{role}" LOGIN', f'GRANT "{role}" TO CURRENT_USER')
    assert is_member(instance.master, role)
    run_setup(instance, instance.iam_role)
    assert is_member(role, instance.iam_role)
    assert not is_member(instance.master, role)
    assert not is_member(instance.master, instance.iam_role)


@pytest.mark.integration
def test_the_setup_refuses_and_grants_nothing_while_the_master_cannot_leave_a_role(
    instance: Instance, bridge: str
) -> None:
    role = instance.role("notifier")
    as_master(instance, f'CREATE ROLE "{role}" LOGIN')
    as_superuser(f'GRANT "{role}" TO "{bridge}"', f'GRANT "{bridge}" TO "{instance.master}"')
    with pytest.raises(AdministratorWouldNeedIam, match=f"refusing to grant .* to {role}"):
        set_up(
            instance.urls["notifier"],
            admin_user=instance.master,
            password=None,
            iam_role=instance.iam_role,
        )
    # The transaction that granted it rolled back: the role has no IAM role to pass on.
    assert not is_member(role, instance.iam_role)
    assert is_member(instance.master, instance.iam_role) is instance.creator_is_member


@pytest.mark.integration
def test_on_16_the_masters_own_membership_inherits_nothing_and_the_setup_grants(
    instance: Instance,
) -> None:
    """PostgreSQL 16 makes the master a member of each role it creates, inheriting nothing
    (and not revocable by it): the IAM role is granted, and the master does not inherit it."""
    if not instance.creator_is_member:
        pytest.skip("PostgreSQL 15 here: " + ON_16)
    run_setup(instance, instance.iam_role)
    role = instance.role(SERVICES[0])
    assert is_member(role, instance.iam_role)
    assert is_member(instance.master, role), "the membership PostgreSQL 16 made"
    assert not is_member(instance.master, role, "USAGE")
    assert not is_member(instance.master, instance.iam_role, "USAGE")
