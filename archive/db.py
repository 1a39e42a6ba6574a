"""Engine and session construction. Nothing connects at import time.

Concurrent writers (several threads of one server, several workers on one catalog) must not decide a write from a
stale read: the audit chain's next id, the login throttle's count. Such read-then-write sections call
`lock_for_write(session, name…)` first (see there for how each database does it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def db_now(session: Session) -> datetime:
    """The catalog's clock, for what workers on several hosts must agree on (scheduled slots, once-a-day claims,
    what is due): PostgreSQL's clock_timestamp() — the time now, not the transaction's start like now() — so a host
    whose own clock is off still picks the same slot as the others. SQLite lives on one host: its clock is ours."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(select(func.clock_timestamp()))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return utcnow()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, *, pool_size: int = 5, **kw: Any) -> Engine:
    """`pool_size`: the PostgreSQL connections kept open (Settings.db_pool_size), half as many again at a peak."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    # No JIT: PostgreSQL compiles a plan whose cost estimate passes jit_above_cost (a school's year counted with its
    # subqueries, estimated as scans of millions of rows that never run), and for the catalog's queries, which answer
    # in milliseconds, the compiling is the wait: 0.6 s of a 0.7 s year overview measured on a province's catalog.
    connect_args = {"options": "-c jit=off"} | kw.pop("connect_args", {})
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max(1, pool_size // 2),
        connect_args=connect_args,
        **kw,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session


def lock_for_write(session: Session, *names: str) -> None:
    """Make the rest of the current transaction a critical section: whatever it reads from now on cannot be changed
    by another writer of the same `names` before it commits. Call it before the reads that decide a write.

    PostgreSQL: a transaction-level advisory lock per name (taken in sorted order, so two callers never deadlock),
    released at commit or rollback; rows the section reads *and* updates can also use SELECT … FOR UPDATE.

    SQLite has one writer at a time and ignores FOR UPDATE. pysqlite opens a transaction lazily, just before the first
    INSERT/UPDATE/DELETE; reads before that run outside any transaction. So a transaction that has not written yet
    is upgraded here with BEGIN IMMEDIATE (it takes the database's write lock now, waiting up to the busy timeout for
    the current writer), and one that has written already holds that lock. Why not BEGIN IMMEDIATE for every
    transaction (SQLAlchemy's pysqlite recipe)? Every session, even one that only reads while a file is hashed or
    streamed, would then hold the single write lock for its whole life and stall every writer; here only the short
    sections that need it serialise.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.dbapi_connection
        if not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    if conn.dialect.name == "postgresql":
        for name in sorted(set(names)):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})


def advisory_key(name: str) -> int:
    """A stable signed 64-bit number for a lock name (PostgreSQL advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(b"hoso-lock:" + name.encode()).digest()[:8], "big", signed=True)
