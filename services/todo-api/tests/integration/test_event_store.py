"""Event-store properties, written once, run on SQLite (`make run`) and PostgreSQL (tests, AWS)."""

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from taskoverflow_events import decode
from taskoverflow_events.persistence import make_engine
from taskoverflow_events.schemas.todo_changed import TodoChangedV1
from todo_api.application import TodoApplication
from todo_api.domain.commands import CreateTodo, DeleteTodo, UpdateTodo
from todo_api.domain.todo import Todo, evolve
from todo_api.store import event_store, outbox
from todo_api.store.migrate import upgrade
from todo_api.store.tables import events, metadata


class EventStoreContract:
    @pytest.fixture
    def engine(self) -> Engine:
        raise NotImplementedError

    def test_the_migrations_build_exactly_the_declared_schema(self, engine: Engine) -> None:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []

    def test_concurrent_writers_get_a_gapless_unique_sequence(self, engine: Engine) -> None:
        app = TodoApplication(engine)
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(10):
                    todo = app.create("alice", CreateTodo(title=f"w{n}-{i}"))
                    app.update("alice", UpdateTodo(todo.id, {"completed": True}))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with engine.connect() as conn:
            page = event_store.owner_events(conn, "alice", after=0, limit=10_000)
            assert event_store.stream_version(conn, "alice") == 120
        assert [seq for seq, _ in page] == list(range(1, 121))
        assert [json.loads(body)["sequence"] for _, body in page] == list(range(1, 121))

    def test_the_read_model_is_the_fold_of_the_events(self, engine: Engine) -> None:
        app = TodoApplication(engine)
        rng = random.Random(7)
        live: list[int] = []
        for step in range(60):
            if not live or rng.random() < 0.4:
                live.append(app.create("bob", CreateTodo(title=f"t{step}")).id)
            elif rng.random() < 0.7:
                todo_id = rng.choice(live)
                app.update(
                    "bob",
                    UpdateTodo(todo_id, {"completed": rng.random() < 0.5, "title": f"t{step}"}),
                )
            else:
                todo_id = live.pop(rng.randrange(len(live)))
                app.delete("bob", DeleteTodo(todo_id))
        folded: dict[int, Todo | None] = {}
        with engine.connect() as conn:
            for _, body in event_store.owner_events(conn, "bob", after=0, limit=10_000):
                payload = decode(body).payload
                assert isinstance(payload, TodoChangedV1)
                folded[payload.todo.id] = evolve(folded.get(payload.todo.id), payload)
        expected = sorted((t for t in folded.values() if t is not None), key=lambda t: t.id)
        assert sorted(app.list("bob"), key=lambda t: t.id) == expected

    def test_owners_have_independent_streams(self, engine: Engine) -> None:
        app = TodoApplication(engine)
        app.create("alice", CreateTodo(title="a"))
        app.create("bob", CreateTodo(title="b"))
        app.create("alice", CreateTodo(title="a2"))
        with engine.connect() as conn:
            assert event_store.stream_version(conn, "alice") == 2
            assert event_store.stream_version(conn, "bob") == 1
        assert [t.title for t in app.list("bob")] == ["b"]

    def test_the_store_refuses_a_second_event_at_the_same_sequence(self, engine: Engine) -> None:
        TodoApplication(engine).create("carol", CreateTodo(title="x"))
        with engine.connect() as conn:
            row = dict(conn.execute(select(events)).mappings().one())
        row.pop("position")
        row["event_id"] = "00000000-0000-0000-0000-000000000000"
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(events).values(**row))

    def test_every_event_starts_unpublished_and_is_marked_once_sent(self, engine: Engine) -> None:
        app = TodoApplication(engine)
        for i in range(3):
            app.create("dave", CreateTodo(title=str(i)))
        with engine.connect() as conn:
            pending = outbox.owner_pending(conn, "dave", 10)
        assert [p.sequence for p in pending] == [1, 2, 3]
        with engine.begin() as conn:
            outbox.mark_published(conn, [pending[0].event_id])
        with engine.connect() as conn:
            assert [p.sequence for p in outbox.owner_pending(conn, "dave", 10)] == [2, 3]
            assert outbox.unpublished_count(conn) == 2


class TestOnSQLite(EventStoreContract):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Iterator[Engine]:
        engine = make_engine(f"sqlite:///{tmp_path / 'todo-api.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()


class TestOnPostgres(EventStoreContract):
    @pytest.fixture
    def engine(self, pg_engine: Engine) -> Engine:
        return pg_engine
