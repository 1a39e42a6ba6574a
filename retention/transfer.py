"""Student transfer (Công văn 1370: a student moving school — the receiving school gets the electronic data).

The sending school exports one student's records (their học bạ files, signed, with each one's metadata and version
history) as a transfer package: a ZIP holding the files under `ho-so/`, the listing `ho-so-chuyen.json`, and the slip
`phieu-chuyen.pdf` — the listing rendered for people with the same JSON embedded and its SHA-256 printed — sealed by
the sending side's organisation key. The receiving school (another hoso, or another school of the same one) imports
it: the slip's seal must validate and be the certificate registered for the sending school (the receiving school's
sender registry, retention/transfer_senders.py, or a fingerprint typed for a one-off partner), the embedded listing must equal the shipped one, every file must hash to the listing;
only then is each file filed under the receiving school with its metadata, and the provenance (sending school,
package digest, original ids and history) recorded as `transfer.import` events. Any mismatch refuses the whole
package before anything is stored.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import pikepdf
from sqlalchemy import select

from archive.context import Archive
from archive.db import utcnow
from archive.errors import InvalidInput, NotFound, StorageDown
from archive.events import record_event
from archive.ingest import ingest_stream
from archive.models import Document, Event, Organisation, User
from archive.permissions import authorize
from storage import content_key

from .inspection import entry_name, unique_names
from .inspection_report import vn_time
from .pdf_text import fonts, with_json, wrap
from .transfer_senders import fingerprint, registered_sender

FORMAT = "hoso-transfer/1"
SLIP = "phieu-chuyen.pdf"
LISTING = "ho-so-chuyen.json"
MAX_FILES = 200


@dataclass(frozen=True)
class TransferImport:
    documents: tuple[str, ...]
    created: int
    sending_school: str
    package_sha256: str


def _refuse(vi: str, en: str, code: str) -> InvalidInput:
    return InvalidInput(vi, en, code=code)


def export_transfer(
    archive: Archive, *, document_ids: list[str], student: str, out: Path, actor: User | None = None
) -> Path:
    student = student.strip()
    if not student or not document_ids:
        raise _refuse(
            "Cần tên học sinh và hồ sơ cần chuyển", "A student name and documents are needed", "invalid_input"
        )
    with archive.sessions() as session:
        docs = [session.get(Document, d) for d in dict.fromkeys(document_ids)]
        if any(d is None or d.status != "active" or d.current is None for d in docs):
            raise _refuse(
                "Có hồ sơ không tồn tại hoặc đã hủy",
                "A document is missing or disposed",
                "document_not_found",
            )
        schools = {d.school_id for d in docs if d is not None}
        if len(schools) != 1:
            raise _refuse(
                "Các hồ sơ phải cùng một trường", "All documents must be of one school", "invalid_input"
            )
        school = docs[0].school if docs[0] is not None else None
        assert school is not None
        if actor is not None:
            authorize(session, session.merge(actor), "document.upload", school)  # the office sends records
        files: list[dict[str, Any]] = []
        for d in docs:
            assert d is not None and d.current is not None
            v = d.current
            history = session.scalars(
                select(Event).where(Event.document_id == d.id).order_by(Event.id).limit(200)
            ).all()
            files.append(
                {
                    "name": entry_name(school.code, d.school_year, d.type_code, d.class_name, d.title, "pdf"),
                    "document_id": d.id, "type": d.type_code, "year": d.school_year, "title": d.title,
                    "class_name": d.class_name, "subject": d.subject, "teacher": d.teacher,
                    "filename": v.original_filename, "sha256": v.sha256, "size": v.size, "signed": v.signed,
                    "verdict": (v.validation or {}).get("verdict") if isinstance(v.validation, dict) else None,
                    "versions": [{"number": x.number, "sha256": x.sha256, "created_at": x.created_at.isoformat(),
                                  "reason": x.reason, "signed": x.signed} for x in d.versions],
                    "history": [{"at": e.occurred_at.isoformat(), "action": e.action, "actor": e.actor}
                                for e in history],
                }
            )  # fmt: skip
        sender = {"code": school.code, "name": school.name}
    for f, name in zip(
        files, unique_names([f["name"] for f in files], [f["document_id"] for f in files]), strict=True
    ):
        f["name"] = name
    listing = {"format": FORMAT, "student": student, "sending_school": sender, "created_at": utcnow().isoformat(),
               "files": files}  # fmt: skip
    listing_bytes = json.dumps(listing, ensure_ascii=False, indent=1).encode("utf-8")
    if archive.signing is None:
        raise StorageDown(
            "Chưa cấu hình chữ ký số của đơn vị", "No organisation seal is configured", code="no_seal"
        )
    slip = archive.signing.sign_org(
        _render_slip(listing, hashlib.sha256(listing_bytes).hexdigest(), listing_bytes)
    )
    tmp = out.with_name(out.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for f in files:
                _, chunks = archive.replicas.open_verified(content_key(f["sha256"]), f["sha256"])
                with z.open(f"ho-so/{f['name']}", "w", force_zip64=True) as dst:
                    for chunk in chunks:
                        dst.write(chunk)
            z.writestr(LISTING, listing_bytes)
            z.writestr(SLIP, slip)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with archive.sessions() as session, session.begin():
        for f in files:
            record_event(
                session,
                "transfer.export",
                actor=session.get(User, actor.id) if actor is not None else None,
                actor_name=None if actor is not None else "system",
                document_id=f["document_id"],
                detail={"student": student, "name": f["name"], "sha256": f["sha256"]},
            )
    return out


def _render_slip(listing: dict[str, Any], listing_sha: str, listing_bytes: bytes) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    regular, bold = fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    width, height = A4
    y = height - 70
    c.setFont(bold, 14)
    c.drawCentredString(width / 2, y, "PHIẾU CHUYỂN HỒ SƠ ĐIỆN TỬ CỦA HỌC SINH")
    y -= 30
    lines = [
        f"Học sinh: {listing['student']}",
        f"Trường chuyển đi: {listing['sending_school']['name']} ({listing['sending_school']['code']})",
        f"Lập lúc: {vn_time(listing['created_at'])}; số tệp: {len(listing['files'])}",
        f"Danh sách {LISTING}: SHA-256 {listing_sha}",
    ]
    for f in listing["files"]:
        lines.append(f"- {f['name']} ({f['size']} byte) SHA-256 {f['sha256']}")
    for text in lines:
        for part in wrap(text, 95):
            c.setFont(regular, 9.5)
            c.drawString(50, y, part)
            y -= 14
            if y < 60:
                c.showPage()
                y = height - 60
    c.showPage()
    c.save()
    return with_json(buf.getvalue(), LISTING, listing_bytes)


def import_transfer(
    archive: Archive,
    *,
    package: Path,
    school: str,
    sender_seal_sha256: str | None = None,
    actor: User | None = None,
) -> TransferImport:
    """Check everything first (seal, registered sender, listing, every file), then file the records.

    The seal must be registered for the receiving school (retention/transfer_senders.py), or equal
    `sender_seal_sha256`, a fingerprint the receiving office types for a partner not registered yet."""
    typed = fingerprint(sender_seal_sha256) if sender_seal_sha256 and sender_seal_sha256.strip() else None
    with archive.sessions() as session:
        receiving = session.scalar(select(Organisation.id).where(Organisation.code == school))
        if receiving is None:
            raise NotFound(f"Không có trường {school}", f"No school {school}", code="school_not_found")
    if actor is not None:
        with archive.sessions() as session:
            from archive.ingest import resolve_school_and_type

            org, _ = resolve_school_and_type(session, school, "hoc-ba")
            authorize(
                session, session.merge(actor), "document.upload", org
            )  # the receiving office files them
    limit = archive.settings.max_upload_bytes
    digest = hashlib.sha256()
    with open(package, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    package_sha = digest.hexdigest()
    try:
        z = zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError):
        raise _refuse(
            "Tệp không phải gói chuyển hồ sơ", "Not a transfer package", "transfer_invalid"
        ) from None
    with z:
        infos = {i.filename: i for i in z.infolist()}
        if SLIP not in infos or LISTING not in infos or len(infos) > MAX_FILES + 2:
            raise _refuse(
                "Gói chuyển thiếu phiếu hoặc danh sách", "Slip or listing missing", "transfer_invalid"
            )
        if any(i.file_size > limit for i in infos.values()):
            raise _refuse("Gói chứa tệp quá lớn", "A file in the package is too large", "too_large")
        slip = z.read(SLIP)
        listing_bytes = z.read(LISTING)
        if archive.signing is None:
            raise StorageDown("Chưa cấu hình kiểm tra chữ ký", "No validation is configured", code="no_seal")
        report = archive.signing.validate(slip)
        sigs = report.get("signatures") or []
        signer = ((sigs[0] if sigs else {}).get("certificate") or {}).get("sha256")
        if report.get("verdict") != "TOTAL_PASSED":
            raise _refuse(
                f"Con dấu trên phiếu chuyển không hợp lệ: {report.get('reason_vi', '')}",
                "The transfer slip's seal does not validate",
                "transfer_seal_invalid",
            )
        with archive.sessions() as session:
            registered = registered_sender(session, receiving, signer) if signer else None
        if registered is None and (typed is None or signer != typed):
            raise _refuse(
                "Phiếu chuyển không được ký bằng con dấu đã đăng ký của trường chuyển đi",
                "The slip is not sealed by the registered sending school",
                "transfer_seal_unknown",
            )
        try:
            with pikepdf.open(io.BytesIO(slip)) as pdf:
                embedded = pdf.attachments[LISTING].get_file().read_bytes()
        except (KeyError, pikepdf.PdfError):
            raise _refuse(
                "Phiếu chuyển không kèm danh sách", "The slip carries no listing", "transfer_invalid"
            ) from None
        if embedded != listing_bytes:
            raise _refuse(
                "Danh sách không khớp phiếu đã ký",
                "The listing differs from the sealed slip",
                "transfer_tampered",
            )
        listing = json.loads(listing_bytes)
        if listing.get("format") != FORMAT:
            raise _refuse("Định dạng gói không hỗ trợ", "Unsupported package format", "transfer_invalid")
        named = (listing.get("sending_school") or {}).get("code")
        if registered is not None and named != registered.sender_code:
            raise _refuse(
                f"Gói ghi trường chuyển đi {named}, nhưng con dấu đã đăng ký cho trường {registered.sender_code}",
                f"The package names {named} as sender, but its seal is registered to {registered.sender_code}",
                "transfer_sender_mismatch",
            )
        for f in listing["files"]:
            member = infos.get(f"ho-so/{f['name']}")
            if member is None:
                raise _refuse(f"Thiếu tệp {f['name']}", f"Missing file {f['name']}", "transfer_tampered")
            h = hashlib.sha256()
            with z.open(member) as src:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
            if h.hexdigest() != f["sha256"]:
                raise _refuse(
                    f"Tệp {f['name']} đã bị thay đổi", f"{f['name']} was changed", "transfer_tampered"
                )
        created, ids = 0, []
        for f in listing["files"]:
            with z.open(f"ho-so/{f['name']}") as src:
                result = ingest_stream(
                    archive, cast(BinaryIO, src), filename=f["filename"] or f["name"], school=school, type_code=f["type"],
                    year=f["year"], title=f["title"], class_name=f["class_name"], subject=f["subject"],
                    teacher=f["teacher"], actor=actor, as_received=True,
                )  # fmt: skip
            created += result.created
            ids.append(result.document.id)
            with archive.sessions() as session, session.begin():
                record_event(
                    session,
                    "transfer.import",
                    actor=session.get(User, actor.id) if actor is not None else None,
                    actor_name=None if actor is not None else "system",
                    document_id=result.document.id,
                    organisation_id=result.document.school_id,
                    detail={
                        "student": listing["student"], "sending_school": listing["sending_school"],
                        "package_sha256": package_sha, "original_document_id": f["document_id"],
                        "versions": f["versions"], "history": f["history"], "seal": signer,
                        "registered_sender": registered.sender_code if registered is not None else None,
                    },
                )  # fmt: skip
    return TransferImport(tuple(ids), created, listing["sending_school"]["code"], package_sha)
