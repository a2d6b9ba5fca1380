"""What every service's database needs from the runtime: an engine that several processes can
share (also on SQLite, for `make run`), and a record of handled events for idempotent consumers.

SQLite serialises writers; BEGIN IMMEDIATE takes the write lock up front so two transactions never
deadlock upgrading a read lock, and WAL lets readers work during a write.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Insert,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from taskoverflow_events.db_auth import DatabasePassword, PasswordSource

# A connection attempt gives up after 5 s, and TCP keepalives run on both ends of every
# PostgreSQL connection. The client side (libpq) notices a database that vanished without
# closing the connection; the server side (the `options`) drops a client that did, and with it
# the client's locks and open transaction. Without them a peer that disappears mid-connection
# (a host lost, a partition) holds its socket open for hours.
KEEPALIVES: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
SERVER_KEEPALIVES = (
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
    " -c tcp_user_timeout=30000"
)


def make_engine(
    database_url: str,
    *,
    password: DatabasePassword | None = None,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    idle_in_transaction_timeout_ms: int | None = None,
    **kwargs: Any,
) -> Engine:
    """`password`, when given, fills in the URL's: deployments inject it from a secret store
    (DATABASE_PASSWORD) so that the URL itself holds none. A callable is asked again for every
    connection the pool opens, because what it gives (an RDS IAM token) expires after 15
    minutes while the pool outlives it (db_auth.py). The timeouts (PostgreSQL only) bound
    how long one statement may run or wait for a lock, and how long the server keeps a session
    that went quiet inside a transaction (with its locks) before ending it."""
    url = make_url(database_url)
    if isinstance(password, str) and password and not url.password:
        url = url.set(password=password)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        options = SERVER_KEEPALIVES
        if statement_timeout_ms is not None:
            options += f" -c statement_timeout={statement_timeout_ms}"
        lock_timeout_ms = statement_timeout_ms if lock_timeout_ms is None else lock_timeout_ms
        if lock_timeout_ms is not None:
            options += f" -c lock_timeout={lock_timeout_ms}"
        if idle_in_transaction_timeout_ms is not None:
            options += f" -c idle_in_transaction_session_timeout={idle_in_transaction_timeout_ms}"
        given = dict(kwargs.get("connect_args", {}))
        options = f"{options} {given.pop('options', '')}".strip()
        kwargs["connect_args"] = {**KEEPALIVES, **given, "options": options}
        engine = create_engine(url, **kwargs)
        if callable(password):
            _password_per_connection(engine, password)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN
        cursor = dbapi_connection.cursor()
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _switch_to_wal(cursor: Any, *, within_seconds: float = 30.0) -> None:
    """Switching a new database file to WAL needs it to itself, and SQLite answers "database is
    locked" at once rather than through the busy timeout when another process is opening the
    same file (processes that start together, as `make run`'s do): try again, for a while."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _password_per_connection(engine: Engine, source: PasswordSource) -> None:
    """Every new DBAPI connection (and only a new one: the pool's reused ones are already in)
    gets a password from `source` just before it connects."""
    url = engine.url
    host, port, user = str(url.host), url.port or 5432, str(url.username)

    @event.listens_for(engine, "do_connect")
    def _fresh_password(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = source(host, port, user)


def is_transient_database_error(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (it restarts, fails over,
    or broke a deadlock): the same work succeeds when tried again. A constraint or a bug does
    not, so it is not transient."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# Any fixed number will do; it names the lock every service takes while creating its tables.
SCHEMA_LOCK_KEY = 0x7A5C_0001


def create_tables(engine: Engine, metadata: MetaData) -> None:
    """`metadata.create_all`, safe when several processes start at once on an empty database.

    create_all looks for each table and then creates the missing ones; two workers starting
    together both find none and the second CREATE fails (PostgreSQL: a duplicate pg_type row),
    killing that process. On PostgreSQL a transaction-scoped advisory lock makes the look and the
    create one step; on SQLite, BEGIN IMMEDIATE (above) already does. DDL is transactional on
    both, so a start that dies midway leaves no half-made schema.
    """
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        metadata.create_all(conn)
        # create_all skips a table that exists; an index added to it since is made here.
        for table in metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def dialect_insert(conn: Connection, table: Table) -> Insert:
    """An INSERT that knows ON CONFLICT, on PostgreSQL and SQLite alike."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table)  # type: ignore[return-value]


def handled_events_table(metadata: MetaData) -> Table:
    """The table a consumer records handled event ids in, inside the effect's own transaction."""
    return Table(
        "handled_events",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("handled_at", DateTime, nullable=False),
        Index("ix_handled_events_handled_at", "handled_at"),  # for retention
    )


def claim_event(conn: Connection, table: Table, event_id: uuid.UUID) -> bool:
    """Record `event_id` as handled; False if it already was (a duplicate delivery).

    Call it in the same transaction as the effect: if the effect rolls back, so does the claim.
    """
    stmt = (
        dialect_insert(conn, table)
        .values(event_id=str(event_id), handled_at=datetime.now(UTC).replace(tzinfo=None))
        .on_conflict_do_nothing(index_elements=["event_id"])  # type: ignore[attr-defined]
        .returning(table.c.event_id)
    )
    return conn.execute(stmt).first() is not None


def purge_handled_events(conn: Connection, table: Table, *, before: datetime, limit: int) -> int:
    """Forget up to `limit` event ids handled before `before`; returns how many. The caller
    keeps them longer than SQS can hold a message (14 days), so any redelivery is still known."""
    doomed = (
        select(table.c.event_id).where(table.c.handled_at < before).limit(limit).scalar_subquery()
    )
    return int(conn.execute(delete(table).where(table.c.event_id.in_(doomed))).rowcount or 0)
