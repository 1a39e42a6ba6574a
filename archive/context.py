"""The composition root's product (hoso/bootstrap.py builds it): everything a service function needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import ReplicaSet

from .db import db_now
from .settings import Settings
from .signing_setup import ArchiveSigning


@dataclass
class Archive:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    replicas: ReplicaSet
    # signing as configured by Settings; None for a process built without it (it then validates, seals and renews
    # nothing: ingest records no report, upkeep is skipped)
    signing: ArchiveSigning | None = field(default=None)

    def __post_init__(self) -> None:
        if self.signing is None:
            self.signing = ArchiveSigning(self.settings)

    @property
    def spool_dir(self) -> Path:
        path = self.settings.spool_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    def now(self) -> datetime:
        """The catalog's clock (archive.db.db_now): the one workers decide slots, claims and due times by."""
        with self.sessions() as session:
            return db_now(session)

    def close(self) -> None:
        self.replicas.close()
        self.engine.dispose()
