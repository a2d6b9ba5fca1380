"""An old process on the new database schema: the previous release's todo-api keeps working
while a deploy replaces its tasks one by one, so a migration may only add (ADR 7).

Compared for every migration since the rule was made, against the schema before it: every
table, column and index it had is still there with the same type and nullability, every new
column can be left out of an INSERT, and the previous release's writes still succeed.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, insert, inspect, select

from taskoverflow_events.persistence import make_engine
from todo_api.store.migrate import MIGRATIONS, upgrade

# 0005 was the head of the last release before the rule; every migration after it is checked,
# new ones included, without this list being kept by hand.
RULE_SINCE = "0005"


def expand_only_revisions() -> dict[str, str]:
    """revision -> the one before it, for every migration after RULE_SINCE."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    found = {}
    for script in ScriptDirectory.from_config(config).walk_revisions():
        if script.revision == RULE_SINCE:
            break
        found[script.revision] = str(script.down_revision)
    return found


PREVIOUS = expand_only_revisions()
EXPAND_ONLY = sorted(PREVIOUS)


@pytest.fixture
def database_at(postgres_database: Callable[[], str]) -> Iterator[Callable[[str], Engine]]:
    engines: list[Engine] = []

    def at(revision: str) -> Engine:
        engine = make_engine(postgres_database())
        upgrade(engine, revision)
        engines.append(engine)
        return engine

    yield at
    for engine in engines:
        engine.dispose()


def shape(engine: Engine) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """table -> column -> (type, nullable, has a default)."""
    inspector = inspect(engine)
    return {
        table: {
            c["name"]: (str(c["type"]), bool(c["nullable"]), c.get("default") is not None)
            for c in inspector.get_columns(table)
        }
        for table in inspector.get_table_names()
    }


def indexes(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {t: {i["name"] for i in inspector.get_indexes(t)} for t in inspector.get_table_names()}


@pytest.mark.parametrize("revision", EXPAND_ONLY)
def test_a_migration_only_adds(revision: str, database_at: Callable[[str], Engine]) -> None:
    before, after = database_at(PREVIOUS[revision]), database_at(revision)
    old, new = shape(before), shape(after)
    for table, columns in old.items():
        assert table in new, f"{revision} dropped table {table}"
        for name, (kind, nullable, _) in columns.items():
            assert name in new[table], f"{revision} dropped {table}.{name}"
            assert new[table][name][0] == kind, f"{revision} changed the type of {table}.{name}"
            assert new[table][name][1] or not nullable, f"{revision} made {table}.{name} required"
        for name, (_, nullable, has_default) in new[table].items():
            if name not in columns:
                assert nullable or has_default, f"{revision} added required {table}.{name}"
    for table, names in indexes(before).items():
        assert names <= indexes(after)[table], f"{revision} dropped an index of {table}"


def test_the_previous_releases_writes_and_reads_still_work_on_the_new_schema(
    database_at: Callable[[str], Engine],
) -> None:
    old = MetaData()
    old.reflect(database_at(RULE_SINCE))  # the previous release's tables
    head = database_at("head")
    now = datetime.now(UTC).replace(tzinfo=None)
    with head.begin() as conn:
        conn.execute(insert(old.tables["streams"]).values(owner="old", version=1))
        conn.execute(
            insert(old.tables["events"]).values(
                event_id="00000000-0000-0000-0000-000000000001",
                owner="old",
                sequence=1,
                event_type="CalendarRequested",
                schema_version=1,
                occurred_at=now,
                body="{}",
            )
        )
        conn.execute(
            insert(old.tables["calendar_jobs"]).values(
                job_id="00000000-0000-0000-0000-000000000002",
                owner="old",
                status="PENDING",
                as_of=0,
                include_completed=True,
                requested_at=now,
            )
        )
    with head.connect() as conn:
        events = old.tables["events"]
        unpublished = conn.execute(
            select(events.c.event_id).where(events.c.published_at.is_(None))
        ).scalars()
        assert list(unpublished) == ["00000000-0000-0000-0000-000000000001"]
        job = conn.execute(select(old.tables["calendar_jobs"])).mappings().one()
        assert job["status"] == "PENDING"
