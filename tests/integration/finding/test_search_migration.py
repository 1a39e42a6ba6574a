"""Migration 0009 gives documents stored before it their folded search text (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from archive.db import make_engine
from hoso.migrate import alembic_config, load_models, upgrade


def test_existing_documents_are_searchable_after_the_upgrade(db_url: str):
    load_models()
    engine = make_engine(db_url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")  # the catalog as it was before this feature
        conn.execute(
            text(
                "INSERT INTO organisations (id, code, name, kind, created_at) VALUES (1, 'C01', 'C', 'truong', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO document_types (code, name_vi, name_en, kept_by, legal_basis, signers_in_order, notes) VALUES ('hoc-ba', 'Học bạ', 'T', 'truong', '', '', '')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO documents (id, school_id, type_code, school_year, title, class_name, teacher, status, created_at)"
                " VALUES ('d1', 1, 'hoc-ba', '2024-2025', 'Sổ theo dõi Đội', '6A', 'Cô Ánh', 'active', CURRENT_TIMESTAMP)"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        folded = conn.scalar(text("SELECT search_text FROM documents WHERE id = 'd1'"))
    engine.dispose()
    assert folded == " so theo doi doi 6a co anh"
