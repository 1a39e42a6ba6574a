"""Ingest, refusals, idempotency, manifests and verified retrieval on the catalog (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from archive.context import Archive
from archive.documents import get_document, open_content
from archive.errors import ArchiveError, IngestRefused, StorageDown
from archive.ingest import ingest_file
from archive.manifests import manifest_key
from archive.models import Document, Event, ReplicaCopy, StoredObject, Version
from hoso.api.schemas import DocumentOut
from storage import content_key
from tests.factories import make_archive


@pytest.fixture
def catalog(tmp_path: Path, db_url: str):
    a = make_archive(tmp_path, database_url=db_url)
    yield a
    a.close()


def _ingest(a: Archive, path: Path, **kw):
    args = {
        "filename": path.name,
        "school": "T01",
        "type_code": "so-theo-doi-danh-gia-lop",
        "year": "2024-2025",
    }
    args.update(kw)
    return ingest_file(a, path, **args)


def _count(a: Archive, model) -> int:
    with a.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_ingest_stores_three_verified_copies_and_catalogs(catalog: Archive, sample_pdf: Path):
    r = _ingest(catalog, sample_pdf, title="Sổ theo dõi lớp 10A1", class_name="10A1")
    data = sample_pdf.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert r.created and r.version.sha256 == sha and r.version.size == len(data)
    assert [x.state for x in r.replicas] == ["ok", "ok", "ok"]
    for store in catalog.replicas.stores:
        with store.get(content_key(sha)) as f:
            assert f.read() == data
    with catalog.sessions() as s:
        doc = get_document(s, r.document.id)
        d = DocumentOut.full(s, doc).model_dump()
        assert d["title"] == "Sổ theo dõi lớp 10A1"
        assert d["filename"] == "Sổ theo dõi 10A1.pdf"
        assert d["media_type"] == "application/pdf" and doc.current.page_count == 2
        assert [x["state"] for x in d["replicas"]] == ["ok"] * 3
        events = s.scalars(select(Event.action).where(Event.document_id == doc.id)).all()
        assert events == ["document.ingest", "chain.open"]  # a class book's chain opens with its upload
    content = open_content(catalog, r.document.id)
    assert b"".join(content.chunks) == data


def test_same_bytes_same_school_and_type_is_idempotent(catalog: Archive, sample_pdf: Path):
    first = _ingest(catalog, sample_pdf)
    again = _ingest(catalog, sample_pdf, filename="another name.pdf")
    assert not again.created and again.document.id == first.document.id
    other_type = _ingest(catalog, sample_pdf, type_code="hoc-ba")
    assert other_type.created and other_type.document.id != first.document.id
    assert _count(catalog, Document) == 2
    # the content is stored once, whichever documents point at it
    with catalog.sessions() as s:
        kinds = s.scalars(select(StoredObject.kind).where(StoredObject.kind != "record")).all()
    assert sorted(kinds) == [
        "content",
        "manifest",
        "manifest",
    ]  # one content + two manifests (+ chains' records)


def test_manifest_carries_everything_the_catalog_holds(catalog: Archive, sample_pdf: Path):
    r = _ingest(
        catalog, sample_pdf, title="Học bạ 12A3", class_name="12A3", subject="Toán", teacher="Trần Văn Đức"
    )
    with catalog.sessions() as s:
        doc = get_document(s, r.document.id)
        d = DocumentOut.full(s, doc).model_dump()
        v = doc.current
        assert v is not None
        for store in catalog.replicas.stores:
            with store.get(manifest_key(doc.id, 1)) as f:
                raw = f.read()
            assert hashlib.sha256(raw).hexdigest() == v.manifest_sha256
            m = json.loads(raw)
            assert m["document"]["id"] == d["id"]
            assert m["organisation"]["code"] == d["school"] and m["organisation"]["name"] == d["school_name"]
            assert m["organisation"]["level"] == "THPT" and m["organisation"]["parent"]["code"] == "79"
            assert m["document"]["type_code"] == d["type"] and m["document"]["TypeName"] == d["type_name"]
            assert m["document"]["school_year"] == d["year"]
            assert m["dossier"]["Title"] == d["title"]
            assert (
                m["document"]["class_name"],
                m["document"]["subject_taught"],
                m["document"]["teacher"],
            ) == (
                d["class_name"],
                d["subject"],
                d["teacher"],
            )
            assert (
                m["document"]["created_at"] == d["created_at"]
                and m["document"]["created_by"] == d["created_by"]
            )
            mv = m["version"]
            for field in ("sha256", "size", "media_type", "page_count", "reason", "signed", "created_at"):
                assert mv[field] == getattr(v, field) if field != "created_at" else v.created_at.isoformat()
            assert mv["original_filename"] == v.original_filename and mv["number"] == v.number
            assert mv["content_key"] == content_key(v.sha256)
            assert m["previous_manifest_sha256"] is None
            assert m["dossier"]["FileCode"].startswith("T01.2025.")


def _encrypted(path: Path, user: str) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path, encryption=pikepdf.Encryption(owner="owner-secret", user=user))
    return path


def _with_open_action(path: Path, action: dict) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(action))
    pdf.save(path)
    return path


def _with_attachment(path: Path, name: str, data: bytes) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name)
    pdf.save(path)
    return path


REFUSALS = {
    "not_pdf": lambda p: (p.write_bytes(b"%PDF-1.7\nthis is not really a pdf\n%%EOF"), p)[1],
    "encrypted_pdf": lambda p: _encrypted(p, "user-secret"),
    "encrypted_pdf_empty_user_password": lambda p: _encrypted(p, ""),
    "active_content_js": lambda p: _with_open_action(
        p, {"/S": pikepdf.Name.JavaScript, "/JS": pikepdf.String("app.alert(1)")}
    ),
    "active_content_launch": lambda p: _with_open_action(
        p, {"/S": pikepdf.Name.Launch, "/F": pikepdf.String("cmd.exe")}
    ),
    "active_content_exe": lambda p: _with_attachment(p, "setup.exe", b"MZ\x90\x00" + b"\x00" * 200),
    "unsupported_type": lambda p: (p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), p)[1],
    "empty_file": lambda p: (p.write_bytes(b""), p)[1],
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_have_codes_and_bilingual_messages_and_store_nothing(
    catalog: Archive, tmp_path: Path, case: str
):
    path = REFUSALS[case](tmp_path / "upload.pdf")
    with pytest.raises(IngestRefused) as ei:
        _ingest(catalog, path)
    expected = case.split("_pdf")[0] + "_pdf" if case.startswith("encrypted") else case
    expected = "active_content" if case.startswith("active_content") else expected
    assert ei.value.code == expected
    assert ei.value.message_vi and ei.value.message_en and ei.value.message_vi != ei.value.message_en
    assert _count(catalog, Document) == 0 and _count(catalog, Version) == 0
    for store in catalog.replicas.stores:
        assert list(store.list("")) == []


def test_too_large_refused(tmp_path: Path, sample_pdf: Path):
    a = make_archive(tmp_path, max_upload_bytes=1000)
    with pytest.raises(IngestRefused) as ei:
        _ingest(a, sample_pdf)
    assert ei.value.code == "too_large" and ei.value.status == 413
    assert _count(a, Document) == 0
    a.close()


def test_harmless_attachment_is_accepted(catalog: Archive, tmp_path: Path):
    path = _with_attachment(tmp_path / "hocba.pdf", "hocba.xml", b"<?xml version='1.0'?><HocBa/>")
    assert _ingest(catalog, path, type_code="hoc-ba").created


def test_docx_lesson_plan_accepted(catalog: Archive, tmp_path: Path):
    import zipfile

    path = tmp_path / "Bài 1 - Phương trình bậc hai.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>Rút kinh nghiệm</w:document>")
    r = _ingest(catalog, path, type_code="ke-hoach-bai-day", subject="Toán")
    assert r.version.media_type.endswith("wordprocessingml.document") and r.version.page_count is None


def test_unknown_school_or_type_is_refused_clearly(catalog: Archive, sample_pdf: Path):
    with pytest.raises(ArchiveError) as ei:
        _ingest(catalog, sample_pdf, school="NOPE")
    assert ei.value.status == 404
    with pytest.raises(ArchiveError) as ei:
        _ingest(catalog, sample_pdf, school="79")  # a Sở is not a school
    assert ei.value.code == "not_a_school"
    with pytest.raises(ArchiveError) as ei:
        _ingest(catalog, sample_pdf, type_code="unknown")
    assert ei.value.code == "unknown_type"


def test_store_down_refuses_with_503_and_records_nothing(catalog: Archive, sample_pdf: Path):
    catalog.replicas.stores[1].available = False  # type: ignore[attr-defined]
    with pytest.raises(StorageDown) as ei:
        _ingest(catalog, sample_pdf)
    assert ei.value.status == 503 and "memory://" in ei.value.message_en
    assert _count(catalog, Document) == 0 and _count(catalog, StoredObject) == 0


def test_min_replicas_two_accepts_with_one_store_down(tmp_path: Path, sample_pdf: Path):
    a = make_archive(tmp_path, min_replicas=2)
    a.replicas.stores[2].available = False  # type: ignore[attr-defined]
    r = _ingest(a, sample_pdf)
    assert sorted(x.state for x in r.replicas) == ["ok", "ok", "unreachable"]
    with a.sessions() as s:
        states = sorted(s.scalars(select(ReplicaCopy.state)).all())
    # the content, the manifest and the signing chain's state record, to be repaired by fixity
    assert states.count("unreachable") == 3
    a.close()


def test_corrupt_copy_is_never_served_and_is_recorded(catalog: Archive, sample_pdf: Path):
    r = _ingest(catalog, sample_pdf)
    key = content_key(r.version.sha256)
    data = sample_pdf.read_bytes()
    catalog.replicas.stores[0].corrupt(key, data[:-1] + b"X")  # type: ignore[attr-defined]
    content = open_content(catalog, r.document.id)
    assert b"".join(content.chunks) == data
    assert content.served_from == catalog.replicas.stores[1].url
    with catalog.sessions() as s:
        copy = s.scalar(
            select(ReplicaCopy)
            .join(StoredObject)
            .where(ReplicaCopy.store_url == catalog.replicas.stores[0].url, StoredObject.key == key)
        )
        assert copy is not None and copy.state == "corrupt"
        damage = s.scalars(select(Event).where(Event.action == "replica.damage")).all()
        assert len(damage) == 1 and damage[0].detail["store"] == catalog.replicas.stores[0].url
    for store in catalog.replicas.stores:
        store.corrupt(key, b"gone")  # type: ignore[attr-defined]
    with pytest.raises(StorageDown) as ei:
        open_content(catalog, r.document.id)
    assert ei.value.code == "no_intact_copy"


def test_migrations_match_models(db_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from archive.db import make_engine
    from archive.models import Base
    from hoso.migrate import load_models, upgrade

    load_models()

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        # full-text indexes are no models (archive/fulltext.py): SQLite's FTS5 tables, PostgreSQL's GIN indexes;
        # nor are the PostgreSQL-only indexes of the search and the overview (migrations 0018, 0020, 0021)
        skipped = (
            "document_text_fts",
            "ix_document_texts_fts",
            "ix_documents_search_trgm",
            "ix_documents_walk",
            "ix_cover_",
        )
        opts = {
            "compare_type": True,
            "include_name": lambda name, kind, _: (
                not str(name).startswith(skipped) and name != "ix_documents_school_walk"
            ),
        }
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    engine.dispose()
    assert diff == []


def test_empty_catalog_gets_admin_and_document_types(catalog: Archive):
    from archive.models import DocumentType, User

    with catalog.sessions() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and admin.is_system_admin
        codes = set(s.scalars(select(DocumentType.code)))
    assert {"hoc-ba", "so-dang-bo", "ke-hoach-bai-day", "bien-ban-tieu-huy"} <= codes


def _cli(a: Archive, *args: str):
    from click.testing import CliRunner

    from hoso.cli import main as cli

    ctx = cli.Ctx()
    ctx._archive = a
    return CliRunner().invoke(cli.main, list(args), obj=ctx)


def test_cli_content_refuses_an_unwritable_output_clearly(catalog: Archive, sample_pdf: Path, tmp_path: Path):
    r = _ingest(catalog, sample_pdf)
    out = tmp_path / "no-such-folder" / "x.pdf"
    res = _cli(catalog, "documents", "content", r.document.id, "--out", str(out))
    assert res.exit_code == 1 and "[bad_output]" in res.stderr and "Không ghi được" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)
    with catalog.sessions() as s:  # refused before any copy was read: no download recorded
        actions = s.scalars(select(Event.action).where(Event.document_id == r.document.id)).all()
        assert "document.download" not in actions and actions[0] == "document.ingest"


def test_cli_content_leaves_no_partial_file_when_the_store_fails_mid_stream(
    catalog: Archive, sample_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from storage import StoreUnavailable

    r = _ingest(catalog, sample_pdf)
    store = catalog.replicas.stores[0]

    def broken(key: str, sha256: str, on_bad=None):
        def chunks():
            yield b"%PDF-1.7 first chunk"
            raise StoreUnavailable(store.url, "connection reset")

        return store, chunks()

    monkeypatch.setattr(catalog.replicas, "open_verified", broken)
    out = tmp_path / "x.pdf"
    res = _cli(catalog, "documents", "content", r.document.id, "--out", str(out))
    assert res.exit_code == 2 and "connection reset" in res.stderr
    assert not out.exists() and not (tmp_path / "x.pdf.part").exists()


def test_cli_content_unknown_document_is_a_clear_error(catalog: Archive, tmp_path: Path):
    out = tmp_path / "x.pdf"
    res = _cli(catalog, "documents", "content", "not-a-uuid", "--out", str(out))
    assert res.exit_code == 1 and "[document_not_found]" in res.stderr
    assert not out.exists() and not (tmp_path / "x.pdf.part").exists()


def test_ingest_looks_up_school_and_type_once_before_the_transaction(catalog: Archive, sample_pdf: Path):
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", seen)
    try:
        _ingest(catalog, sample_pdf)
        fresh = list(statements)
        statements.clear()
        _ingest(catalog, sample_pdf)  # the same bytes again: answered from the first look-up
        again = list(statements)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", seen)
    # once, to refuse early (and find duplicates and locks): the write transaction takes the rows it found
    assert sum("FROM document_types" in s for s in fresh) == 1
    assert sum("FROM document_types" in s for s in again) == 1
