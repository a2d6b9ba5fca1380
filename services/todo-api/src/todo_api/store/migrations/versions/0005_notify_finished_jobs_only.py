"""`calendar_jobs` notifies when a job finishes, not when it starts.

The only listener is the status long-poll, which answers once the job is SUCCESS or FAILURE; a
STARTED notification woke every web process's listener and each waiting request only for it to
re-read the job and wait again, a database read per job for nothing.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


FINISHED_ONLY = " AND NEW.status IN ('SUCCESS', 'FAILURE')"


def upgrade() -> None:
    _replace_trigger(FINISHED_ONLY)


def downgrade() -> None:
    _replace_trigger("")  # 0004's: every status change


def _replace_trigger(also_when: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER calendar_jobs_notify ON calendar_jobs")
    op.execute(
        "CREATE TRIGGER calendar_jobs_notify AFTER UPDATE OF status ON calendar_jobs"
        f" FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status{also_when})"
        " EXECUTE FUNCTION notify_calendar_job()"
    )
