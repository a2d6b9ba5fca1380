"""A database role per service, able to reach only its own database (ADR 13).

Every service used to log in to RDS as the master user, so the notifier, which calls URLs its
owners give it, could have read todo-api's owners table. The setup step now gives each service
its own role (`taskoverflow-create-databases --admin-user`, create_databases.py) and, run as the
instance's administrator for each service's database, makes sure that:

- the role exists and may log in; where a role named `iam_role` exists (RDS's rds_iam) it is
  granted, unless the administrator would then be a member of it (below), so on RDS the role logs
  in with an IAM token only and has no password to leak. A local PostgreSQL has no rds_iam: there
  the role logs in as pg_hba allows (trust, or a password);
- PUBLIC keeps no privilege on the database: only the role (and the administrator, who owns the
  database and so can come back to run this again) may connect. No other service's role can;
- in the database's public schema, PUBLIC may do nothing and the role may use and create;
- everything the public schema holds that another role owns (what was migrated as the master
  user before this step existed) becomes the role's, so each service owns every object it uses
  and migrates them itself, under its own role. The previous owner keeps its privileges on what
  it made, so processes of the release before, which log in as the master user, keep working
  while the deploy replaces them (ADR 7).

RDS's master user is no superuser (CREATEDB, CREATEROLE), and PostgreSQL gives an object to a
new owner only for a member of that owner. Where the administrator is not one already, it becomes
a member for one transaction, which hands the objects over and ends the membership before it
commits. That matters on RDS, where a member of a role granted rds_iam, even indirectly and even
without inheriting it, may have to log in with IAM: the master user could lose its password.
So every transaction that could leave the administrator such a member ends with
admin_membership.keep_out_of_iam, which revokes what the administrator may revoke and otherwise
raises, rolling the transaction back, before anything is committed:

- on PostgreSQL 15 (run here: tests/security) the administrator is a member of a service's role
  only if someone granted it; the guard revokes that, and the setup completes;
- on PostgreSQL 16 and later, CREATE ROLE makes its creator a member of the new role (ADMIN
  OPTION, no INHERIT, no SET), granted by the bootstrap superuser, which the creator cannot
  revoke. Where rds_iam exists the setup therefore refuses, leaving the databases confined but
  no service role granted rds_iam. Shown by tests/security on an upstream PostgreSQL 16 server,
  not on RDS; whether RDS refuses a password to a member that neither inherits nor may SET ROLE,
  as AWS's own steps for IAM users make the master user on 16, was not tried (ADR 13).

Every statement is safe to run again; the last step checks the outcome, because a GRANT that
PostgreSQL refuses for lack of privilege is only a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from taskoverflow_events.admin_membership import keep_out_of_iam
from taskoverflow_events.db_auth import DatabasePassword
from taskoverflow_events.persistence import make_engine

RDS_IAM_ROLE = "rds_iam"

# What a role owns in the public schema, as ALTER statements name it: relations (an index, a
# table's row type and a sequence a column owns follow their table by themselves) and routines
# and standalone types. Extension members are the extension's. search_path is emptied first, so
# the ::regclass / ::regprocedure / ::regtype texts come schema-qualified and quoted.
OWNED_ELSEWHERE = """
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                      WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
       c.oid::regclass::text, pg_get_userbyid(c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :role)
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
UNION ALL
SELECT 'ROUTINE', p.oid::regprocedure::text, pg_get_userbyid(p.proowner)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public'
   AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = :role)
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                   AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype::text,
       pg_get_userbyid(t.typowner)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'c')
   AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
   AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = :role)
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                   AND d.objid = t.oid AND d.deptype = 'e')
"""

# GRANT names every relation but a sequence TABLE.
GRANT_KIND = {"VIEW": "TABLE", "MATERIALIZED VIEW": "TABLE", "FOREIGN TABLE": "TABLE"}


@dataclass(frozen=True, slots=True)
class ServiceDatabase:
    """A service's database and the role that alone may use it."""

    database: str
    role: str


def confine(
    admin_url: str,
    target: ServiceDatabase,
    *,
    password: DatabasePassword | None = None,
    iam_role: str = RDS_IAM_ROLE,
) -> None:
    """Give `target.role` its database and nothing else. `admin_url` reaches the maintenance
    database (`postgres`) as the administrator; the target database must exist."""
    maintenance = make_engine(admin_url, password=password)
    own = make_engine(
        make_url(admin_url).set(database=target.database).render_as_string(hide_password=False),
        password=password,
    )
    try:
        with maintenance.begin() as conn:
            _ensure_role(conn, target.role)
            database, role = _quote(conn, target.database), _quote(conn, target.role)
            conn.execute(text(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC"))
            conn.execute(text(f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}"))
        with own.begin() as conn:
            conn.execute(text("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
            conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))
            _hand_over_objects(conn, target.role)
            keep_out_of_iam(conn, target.role, iam_role)  # if an earlier run granted it
        with maintenance.begin() as conn:
            if conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": iam_role}
            ).first():
                conn.execute(text(f"GRANT {_quote(conn, iam_role)} TO {role}"))
                keep_out_of_iam(conn, target.role, iam_role)
            _check(conn, target)
    finally:
        maintenance.dispose()
        own.dispose()


def _ensure_role(conn: Connection, name: str) -> None:
    found = conn.execute(
        text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": name}
    ).first()
    if found is None:
        conn.execute(text(f"CREATE ROLE {_quote(conn, name)} LOGIN"))
    elif not found.rolcanlogin:
        conn.execute(text(f"ALTER ROLE {_quote(conn, name)} LOGIN"))


def _hand_over_objects(conn: Connection, role: str) -> None:
    """Make `role` the owner of what others own in the public schema, leaving each previous
    owner its privileges, in the caller's transaction, as a member of `role` for that
    transaction only (see the module's doc)."""
    conn.execute(text("SET LOCAL search_path TO ''"))
    objects = conn.execute(text(OWNED_ELSEWHERE), {"role": role}).all()
    if not objects:
        return
    quoted = _quote(conn, role)
    joined = not _can_act_as(conn, role)
    if joined:
        conn.execute(text(f"GRANT {quoted} TO CURRENT_USER"))
    for kind, name, previous_owner in objects:
        conn.execute(text(f"ALTER {kind} {name} OWNER TO {quoted}"))
        granted = GRANT_KIND.get(kind, kind)
        conn.execute(text(f"GRANT ALL ON {granted} {name} TO {_quote(conn, previous_owner)}"))
    if joined:
        conn.execute(text(f"REVOKE {quoted} FROM CURRENT_USER"))


def _can_act_as(conn: Connection, role: str) -> bool:
    """Whether the current user may already give objects to `role` (superuser, or a member
    allowed to SET ROLE to it: PostgreSQL 16 asks for that; before 16, membership sufficed)."""
    modern = int(conn.execute(text("SHOW server_version_num")).scalar_one()) >= 160000
    return bool(
        conn.execute(
            text(
                "SELECT rolsuper OR pg_has_role(current_user, :role, :how)"
                " FROM pg_roles WHERE rolname = current_user"
            ),
            {"role": role, "how": "SET" if modern else "MEMBER"},
        ).scalar_one()
    )


def _check(conn: Connection, target: ServiceDatabase) -> None:
    """Fail loudly unless PUBLIC has nothing on the database and the role may connect."""
    row = conn.execute(
        text(
            "SELECT datacl IS NOT NULL"
            " AND NOT EXISTS (SELECT FROM aclexplode(datacl) a WHERE a.grantee = 0)"
            " AS public_shut_out,"
            " has_database_privilege(:role, datname, 'CONNECT') AS role_connects"
            " FROM pg_database WHERE datname = :database"
        ),
        {"role": target.role, "database": target.database},
    ).one()
    if not (row.public_shut_out and row.role_connects):
        raise RuntimeError(
            f"database {target.database!r} is not confined to role {target.role!r} "
            f"(PUBLIC shut out: {row.public_shut_out}, role connects: {row.role_connects}); "
            "the administrator must own the database"
        )


def _quote(conn: Connection | Engine, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote_identifier(name))
