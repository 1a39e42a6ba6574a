"""Office lesson plans become PDF/A-2b (issue 14, items 1 and 3): DOCX, ODT and Word 97 DOC are converted by
LibreOffice; the PDF/A is the record's file (shown, signed), the upload is its original rendition; Vietnamese text
survives the conversion; macro documents are refused and nothing is stored."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from pathlib import Path

import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive import conversion, renditions, sniff
from archive.content_checks import checks_for_version
from archive.context import Archive
from archive.documents import open_content
from archive.errors import IngestRefused, NotFound
from archive.ingest import ingest_file
from archive.models import Document, Event, StoredObject
from archive.pdfcheck import inspect_pdf
from hoso.app import create_app
from storage import content_key
from tests.factories import PASSWORD, add_person, bearer, make_pdf
from tests.integration import officekit

pytestmark = pytest.mark.skipif(not conversion.available(), reason="LibreOffice (soffice) is not installed")


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    """The same lesson plan as DOCX, ODT (LibreOffice's own) and Word 97 DOC."""
    folder = tmp_path_factory.mktemp("plans")
    docx = officekit.docx(folder / "ke-hoach.docx")
    return {
        "docx": docx,
        "odt": officekit.convert_with_libreoffice(docx, "odt", folder),
        "doc": officekit.convert_with_libreoffice(docx, "doc", folder),
    }


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text).split()


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()


def _ingest(archive: Archive, path: Path):
    return ingest_file(
        archive, path, filename=path.name, school="T01", type_code="ke-hoach-bai-day", year="2024-2025"
    )


@pytest.mark.parametrize("kind", ["docx", "odt", "doc"])
def test_office_plan_is_stored_as_pdfa_with_its_original(archive: Archive, plans, kind, tmp_path: Path):
    upload = plans[kind]
    result = _ingest(archive, upload)
    version = result.version
    assert version.media_type == sniff.PDF and version.original_filename == "ke-hoach.pdf"
    pdf = b"".join(open_content(archive, result.document.id).chunks)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert doc.open_metadata().pdfa_status == "2B" and "/OutputIntents" in doc.Root
    # the Vietnamese text is intact, word for word
    assert _words(_pdf_text(pdf, tmp_path)) == _words("\n".join(officekit.PLAN_LINES))
    # the PDF/A passes the same inspection as any uploaded PDF
    (tmp_path / "check.pdf").write_bytes(pdf)
    assert inspect_pdf(tmp_path / "check.pdf").page_count == 1
    # the upload is kept, byte for byte, as the original rendition
    original = renditions.open_rendition(archive, result.document.id, renditions.ORIGINAL)
    assert b"".join(original.chunks) == upload.read_bytes()
    assert original.media_type == {"docx": sniff.DOCX, "odt": sniff.ODT, "doc": sniff.DOC}[kind]
    with archive.sessions() as s:  # both are tracked for fixity
        keys = set(s.scalars(select(StoredObject.key).where(StoredObject.kind == "content")))
    assert {content_key(version.sha256), content_key(original.sha256)} <= keys


def test_api_serves_pdfa_and_the_original_on_request(archive: Archive, plans):
    add_person(archive, "gv", ("gvbm", "T01"), full_name="Giáo viên Văn", password=PASSWORD)
    api = TestClient(
        create_app(archive.settings, archive=archive), headers=bearer(archive, "gv", name="t", ttl_days=1)
    )
    form = {"school": "T01", "type": "ke-hoach-bai-day", "year": "2024-2025"}
    upload = plans["docx"].read_bytes()
    r = api.post("/api/v1/documents", data=form, files={"file": ("ke-hoach.docx", upload)})
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    shown = api.get(f"/api/v1/documents/{doc_id}/content")
    assert shown.status_code == 200 and shown.headers["content-type"] == "application/pdf"
    assert shown.content.startswith(b"%PDF-") and shown.headers["content-disposition"].endswith(".pdf")
    original = api.get(f"/api/v1/documents/{doc_id}/content", params={"rendition": "original"})
    assert original.status_code == 200 and original.content == upload
    assert original.headers["content-disposition"].endswith(".docx")
    unknown = api.get(f"/api/v1/documents/{doc_id}/content", params={"rendition": "thumbnail"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_rendition"
    # the same Word file again is the same record (200), not a second conversion
    again = api.post("/api/v1/documents", data=form, files={"file": ("ke-hoach (1).docx", upload)})
    assert again.status_code == 200 and again.json()["id"] == doc_id


def test_a_plain_pdf_has_no_original_rendition(archive: Archive, tmp_path: Path):
    result = _ingest(archive, make_pdf(tmp_path / "plan.pdf"))
    with pytest.raises(NotFound) as ei:
        renditions.open_rendition(archive, result.document.id, renditions.ORIGINAL)
    assert ei.value.code == "rendition_not_found" and ei.value.status == 404


def _macro_files(plans, tmp_path: Path) -> dict[str, Path]:
    doc_with_vba = tmp_path / "macro.doc"
    # Word 97 keeps its VBA project in the _VBA_PROJECT_CUR storage, named in UTF-16 in the OLE directory
    doc_with_vba.write_bytes(plans["doc"].read_bytes() + "_VBA_PROJECT_CUR".encode("utf-16-le"))
    return {
        "docm": officekit.docx(tmp_path / "macro.docx", macros=True),
        "odt_script": officekit.odt_with_script(plans["odt"], tmp_path / "macro.odt"),
        "doc_vba": doc_with_vba,
    }


@pytest.mark.parametrize("kind", ["docm", "odt_script", "doc_vba"])
def test_macro_documents_are_refused_and_nothing_is_stored(archive: Archive, plans, kind, tmp_path: Path):
    path = _macro_files(plans, tmp_path)[kind]
    with pytest.raises(IngestRefused) as ei:
        _ingest(archive, path)
    assert ei.value.code == "active_content" and ei.value.status == 422
    assert "macro" in ei.value.message_vi and "macros" in ei.value.message_en
    with archive.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
    for store in archive.replicas.stores:
        assert list(store.list("")) == []


def test_a_file_libreoffice_cannot_read_is_kept_as_uploaded(archive: Archive, plans, tmp_path: Path):
    broken = tmp_path / "hong.doc"
    data = plans["doc"].read_bytes()
    broken.write_bytes(
        data[:512] + bytes(len(data) - 512)
    )  # the OLE header survives, everything else is gone
    result = _ingest(archive, broken)
    assert (
        result.created and result.version.media_type == sniff.DOC
    )  # the upload is not lost, only unconverted
    assert b"".join(open_content(archive, result.document.id).chunks) == broken.read_bytes()
    with archive.sessions() as s:
        (detail,) = s.scalars(select(Event.detail).where(Event.action == "document.ingest"))
    assert "LibreOffice" in detail["not_converted"]


LEGACY_PLANS = {
    "tcvn3": (
        ".VnTime",
        ["KÕ ho¹ch bµi d¹y m«n Ng÷ v¨n", "Häc sinh tÝch cùc", "IV. Rót kinh nghiÖm"],
        "TCVN3 (ABC)",
    ),
    "vni": ("VNI-Times", ["Keá hoaïch baøi daïy", "Hoïc sinh tích cöïc", "IV. Ruùt kinh nghieäm"], "VNI"),
}


@pytest.mark.parametrize("kind", sorted(LEGACY_PLANS))
def test_plan_typed_in_a_legacy_font_has_its_heading_found(archive: Archive, tmp_path: Path, kind):
    font, lines, encoding = LEGACY_PLANS[kind]
    result = _ingest(archive, officekit.docx(tmp_path / f"giao-an-{kind}.docx", lines=lines, font=font))
    with archive.sessions() as s:
        (check,) = checks_for_version(s, result.version.id)
    assert check["result"] == "present", check
    assert encoding in check["detail"]


def test_a_converted_word_plan_is_signed_and_keeps_its_original(tmp_path: Path, plans):
    import signing
    from archive.signatures import setup_of, sign_document
    from tests.factories import dev_pki_archive
    from tests.processes import free_port

    (tmp_path / "pki").mkdir()
    (tmp_path / "archive").mkdir()
    with dev_pki_archive(tmp_path / "archive", (tmp_path / "pki", f"http://127.0.0.1:{free_port()}")) as a:
        doc = _ingest(a, plans["docx"]).document
        signed = sign_document(a, doc.id, reason="Đóng dấu", appearance=signing.Appearance.invisible())
        assert signed.number == 2 and signed.signed and signed.media_type == sniff.PDF
        report = signing.validate_pdf(b"".join(open_content(a, doc.id).chunks), setup_of(a).trust_roots)
        assert report.verdict == "TOTAL_PASSED", report.to_dict()
        # the signed version still offers the Word file the teacher uploaded
        original = renditions.open_rendition(a, doc.id, renditions.ORIGINAL)
        assert b"".join(original.chunks) == plans["docx"].read_bytes()
