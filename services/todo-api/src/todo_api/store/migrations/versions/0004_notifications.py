"""PostgreSQL notifications: `outbox` when events are appended, `calendar_jobs` when a job moves.

The relay and the status long-poll wait on these instead of polling the tables: the relay wakes
the moment a write commits (and sleeps while nothing is written), and a client waiting on a job
is answered the moment the consumer records its outcome. NOTIFY is delivered on commit and
dropped on rollback, so a listener never hears of a change it cannot yet read. SQLite (`make
run`) has no NOTIFY; there both keep polling.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One notification per INSERT statement, not per row: the relay reads the whole backlog.
    op.execute(
        """
        CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_notify_outbox AFTER INSERT ON events"
        " FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox()"
    )
    op.execute(
        """
        CREATE FUNCTION notify_calendar_job() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('calendar_jobs', NEW.job_id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER calendar_jobs_notify AFTER UPDATE OF status ON calendar_jobs"
        " FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)"
        " EXECUTE FUNCTION notify_calendar_job()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER calendar_jobs_notify ON calendar_jobs")
    op.execute("DROP FUNCTION notify_calendar_job()")
    op.execute("DROP TRIGGER events_notify_outbox ON events")
    op.execute("DROP FUNCTION notify_outbox()")
