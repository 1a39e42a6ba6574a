"""The composition root's product: everything a service function needs, built from one Settings object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import ReplicaSet, open_store

from .db import make_engine, make_sessionmaker
from .secrets_box import SESSION_INFO_KEY
from .settings import Settings


@dataclass
class Archive:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    replicas: ReplicaSet
    extras: dict[str, object] = field(default_factory=dict)  # signers, scheduler … attached by entry points

    @property
    def spool_dir(self) -> Path:
        path = self.settings.spool_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        self.replicas.close()
        self.engine.dispose()


def build_archive(settings: Settings, *, migrate: bool = False) -> Archive:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        from .migrate import upgrade

        upgrade(engine)
    stores = [open_store(url) for url in settings.replica_urls]
    replicas = ReplicaSet(stores, settings.min_replicas)
    sessions = make_sessionmaker(engine)
    sessions.configure(info={SESSION_INFO_KEY: settings})  # where archive.auth finds the TOTP secrets' key
    archive = Archive(settings, engine, sessions, replicas)
    from .signatures import install_signing_hooks  # here, not at the top: signatures imports this module

    install_signing_hooks(archive)
    return archive
