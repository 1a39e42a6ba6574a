"""The one composition root: reads the typed Settings and builds the archive (catalog engine, sessions, replica
stores, signing setup — Archive.signing) and the scheduler of a serving process. Every entry point — the web app,
each CLI command, the worker, benchmarks and tests — gets its Archive from here, and `opened()` closes it however the
caller ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from archive.context import Archive
from archive.db import make_engine, make_sessionmaker
from archive.secrets_box import SESSION_INFO_KEY
from archive.settings import Settings
from archive.state_records import REPLICAS_KEY
from retention.scheduler import start_scheduler
from storage import ReplicaSet, open_store

from .migrate import upgrade


def build_archive(settings: Settings, *, migrate: bool = False) -> Archive:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
    if migrate:
        upgrade(engine)
    stores = [open_store(url) for url in settings.replica_urls]
    replicas = ReplicaSet(stores, settings.min_replicas)
    sessions = make_sessionmaker(engine)
    # where archive.auth finds the TOTP secrets' key, and archive.state_records the replicas to write records to
    sessions.configure(info={SESSION_INFO_KEY: settings, REPLICAS_KEY: replicas})
    # signing comes configured from the same Settings (ArchiveSigning, lazy: the dev PKI is made on first use)
    return Archive(settings, engine, sessions, replicas)


def scheduler_for(archive: Archive) -> Any | None:
    """The background jobs of a serving process (retention/scheduler.py), or None when HOSO_SCHEDULER_ENABLED is
    off because `hoso worker` processes run them instead."""
    return start_scheduler(archive) if archive.settings.scheduler_enabled else None


@contextmanager
def opened(settings: Settings | None = None, *, migrate: bool = True) -> Iterator[Archive]:
    """An archive for one command or one process, closed when the block ends (normally or not)."""
    archive = build_archive(settings if settings is not None else Settings(), migrate=migrate)
    try:
        yield archive
    finally:
        archive.close()
