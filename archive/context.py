"""The composition root's product (hoso/bootstrap.py builds it): everything a service function needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import ReplicaSet

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
