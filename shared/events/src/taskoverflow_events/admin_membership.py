"""Never commit a state in which the administrator inherits a role that logs in with IAM.

On RDS, a role that is a member of rds_iam logs in only with an IAM token, and that includes a
role that inherits rds_iam through another role: a master user granted a service's role, once
that role holds rds_iam, is refused its password (reported by operators of RDS 15, and why
PostgreSQL 16's GRANT ... WITH INHERIT FALSE is the documented way out). The setup task logs in
as the master user with its password, so such a state would lock it, and every person with the
password, out. A membership that inherits nothing is not counted: PostgreSQL 16 gives a
CREATEROLE user exactly such a membership in every role it creates (WITH ADMIN OPTION, INHERIT
FALSE, SET FALSE, granted by the bootstrap superuser, so it cannot revoke it), and AWS's own steps
for IAM users (the master creates a role and grants it rds_iam) make it on every RDS 16.

`keep_out_of_iam` runs inside the transaction that grants the IAM role, before it commits. It
ends every inheriting membership of the administrator in the role that the administrator may
end, checks again, and raises if the administrator still inherits the IAM role through it, so
the transaction rolls back and the grant is never committed. (Not tried on RDS itself: whether
RDS 16 also refuses a password to a member that inherits nothing; ADR 13 says how to check.)
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# The administrator's own memberships in a role: who granted each, and whether the
# administrator holds that grantor's privileges, which PostgreSQL 16 asks of REVOKE ... GRANTED BY.
DIRECT_GRANTS = """
SELECT pg_get_userbyid(m.grantor) AS grantor, m.admin_option,
       CASE WHEN EXISTS (SELECT FROM pg_roles WHERE oid = m.grantor)
            THEN pg_has_role(current_user, m.grantor, 'USAGE') ELSE false END AS revocable
  FROM pg_auth_members m
 WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :role)
   AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)
"""


class AdministratorWouldNeedIam(RuntimeError):
    """The administrator would stay a member of a role granted the IAM role: nothing committed."""


def keep_out_of_iam(conn: Connection, role: str, iam_role: str) -> None:
    """In the caller's transaction, after `role` was granted `iam_role`: end the current user's
    membership in `role`, or raise so that the transaction rolls back."""
    if not _is_member_through(conn, role, iam_role):
        return
    quoted = _quote(conn, role)
    if _server_version(conn) < 160000:
        # One membership per pair before 16, which any CREATEROLE user may revoke.
        if conn.execute(text(DIRECT_GRANTS), {"role": role}).first():
            conn.execute(text(f"REVOKE {quoted} FROM CURRENT_USER"))
    else:
        for grant in conn.execute(text(DIRECT_GRANTS), {"role": role}).all():
            if grant.revocable:
                grantor = _quote(conn, grant.grantor)
                conn.execute(text(f"REVOKE {quoted} FROM CURRENT_USER GRANTED BY {grantor}"))
    if _is_member_through(conn, role, iam_role):
        raise AdministratorWouldNeedIam(_explain(conn, role, iam_role))


def _is_member_through(conn: Connection, role: str, iam_role: str) -> bool:
    """Whether the current user, no superuser, inherits `role` (USAGE), itself a member of
    `iam_role` (False where either role is missing). pg_has_role says yes to a superuser for
    every role; RDS has no superuser to log in as."""
    return bool(
        conn.execute(
            text(
                "SELECT NOT u.rolsuper AND pg_has_role(r.oid, i.oid, 'MEMBER')"
                " AND pg_has_role(u.oid, r.oid, 'USAGE')"
                " FROM pg_roles u, pg_roles r, pg_roles i"
                " WHERE u.rolname = current_user AND r.rolname = :role AND i.rolname = :iam"
            ),
            {"role": role, "iam": iam_role},
        ).scalar()
    )


def _explain(conn: Connection, role: str, iam_role: str) -> str:
    user = str(conn.execute(text("SELECT current_user")).scalar_one())
    grants = conn.execute(text(DIRECT_GRANTS), {"role": role}).all()
    held = "; ".join(
        f"granted by {g.grantor}{' with ADMIN OPTION' if g.admin_option else ''}"
        f"{'' if g.revocable else ', which it cannot revoke'}"
        for g in grants
    )
    return (
        f"refusing to grant {iam_role} to {role}: the administrator {user} inherits "
        f"{role} ({held or 'through another role'}), so it would inherit {iam_role} and on RDS "
        "would have to log in with IAM instead of its password. The transaction rolls back; "
        "see ADR 13."
    )


def _server_version(conn: Connection) -> int:
    return int(conn.execute(text("SHOW server_version_num")).scalar_one())


def _quote(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote_identifier(name))
