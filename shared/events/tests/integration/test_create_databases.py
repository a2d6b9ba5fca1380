import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from taskoverflow_events.create_databases import create_missing
from taskoverflow_events.persistence import make_engine
from taskoverflow_testing.postgres import admin_url, drop_database


def test_a_missing_database_is_created_once() -> None:
    url = (
        make_url(admin_url())
        .set(database=f"tocreate_{uuid.uuid4().hex[:8]}")
        .render_as_string(hide_password=False)
    )
    try:
        assert create_missing(url) is True
        assert create_missing(url) is False
        engine = make_engine(url)
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT current_database()")).scalar() == make_url(url).database
            )
        engine.dispose()
    finally:
        drop_database(url)
