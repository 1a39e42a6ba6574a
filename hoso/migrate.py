"""Run Alembic migrations from code (no alembic.ini needed) and seed what an empty catalog must hold."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive import chains
from archive.models import DocumentType, User

MIGRATIONS = Path(__file__).parent / "migrations"
# Every module that defines tables on archive.models.Base; the migration environment and the schema test load them
# all (by name, so archive core does not import retention/ at import time).
MODEL_MODULES = (
    "archive.models",
    "archive.signing_models",
    "archive.chain_models",
    "archive.content_checks",
    "archive.renditions",
    "archive.fulltext",
    "archive.record_models",
    "archive.validation_cache",
    "archive.correction_models",
    "retention.models",
    "retention.integrity_models",
    "retention.job_results",
    "retention.inspection_models",
    "retention.check_record_models",
    "retention.media_models",
    "retention.transfer_sender_models",
    "archive.remote_signing_models",
)


def load_models() -> None:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine) -> None:
    """Migrate to every head, then seed document types and the `admin` account when missing."""
    load_models()
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    with Session(engine) as session, session.begin():
        seed(session)


def load_document_types() -> list[dict[str, str]]:
    text = resources.files("archive").joinpath("data/document-types.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def seed(session: Session) -> None:
    known = set(session.scalars(select(DocumentType.code)))
    for row in load_document_types():
        if row["code"] not in known:
            session.add(
                DocumentType(
                    code=row["code"],
                    name_vi=row["name_vi"],
                    name_en=row["name_en"],
                    kept_by=row["kept_by"],
                    legal_basis=row["legal_basis"],
                    signers_in_order=row["signers_in_order"],
                    notes=row["notes"],
                )
            )
    session.flush()
    chains.seed_defaults(session)
    if session.scalar(select(User.id).limit(1)) is None:
        session.add(User(username="admin", full_name="Quản trị hệ thống", is_system_admin=True))
