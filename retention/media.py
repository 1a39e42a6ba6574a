"""Offline media (Công văn 1370: học bạ data of each year also on labelled CD/USB; Thông tư 02/2019: media renewed
every 3 years). `export_media` writes a BagIt bag (RFC 8493, the `bagit` library): the files under readable names with
a `danh-sach.json` listing of their metadata, manifests in SHA-256 and SHA-512, bag-info naming the school, year,
types, counts and export time. Then the printable label sheet `nhan-vat-mang-tin.pdf` (school, year, contents, count,
total size, the tag manifest's SHA-256 — the bag's checksum —, date, the principal's name) is signed with the system's
seal: that signature, over a text naming the tag manifest's digest, is the system's signature over the bag. The label
sits beside the tag manifests, outside them (it signs them). Each export is a row of the media register; media older
than the renewal period are reminded of daily.

`verify_media(dir)` needs nothing but the folder: bagit's own validation (every payload file against both manifests,
the tag files against the tag manifests, Payload-Oxum) plus the label's stated digest of the tag manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.context import Archive
from archive.db import db_now, utcnow
from archive.errors import Conflict, InvalidInput, StorageDown
from archive.events import record_event
from archive.models import Document, Organisation, RoleAssignment, User
from archive.permissions import authorize
from storage import NoGoodCopy, content_key

from .inspection import entry_name, unique_names
from .inspection_report import vn_time
from .media_models import MediaExport
from .pdf_text import fonts, with_json

LABEL = "nhan-vat-mang-tin.pdf"
LISTING = "danh-sach.json"
RENEWAL = timedelta(days=3 * 365)  # Thông tư 02/2019/TT-BNV: media renewed every 3 years


@dataclass(frozen=True)
class MediaResult:
    id: int
    path: Path
    documents: int
    total_bytes: int
    tagmanifest_sha256: str


@dataclass(frozen=True)
class MediaProblem:
    path: str
    problem: str  # checksum / missing / unexpected / label / bag


@dataclass(frozen=True)
class MediaReport:
    path: str
    intact: bool
    problems: tuple[MediaProblem, ...]
    documents: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "intact": self.intact,
            "documents": self.documents,
            "problems": [{"path": p.path, "problem": p.problem} for p in self.problems],
        }


def principal_name(session: Session, school: Organisation) -> str:
    user = session.scalar(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.organisation_id == school.id, RoleAssignment.role == "hieu_truong")
        .order_by(RoleAssignment.id)
        .limit(1)
    )
    return (user.full_name or user.username) if user is not None else ""


def export_media(
    archive: Archive,
    *,
    school: str,
    year: str,
    types: tuple[str, ...] = (),
    out: Path,
    actor: User | None = None,
) -> MediaResult:
    import bagit

    if out.exists() and any(out.iterdir()):
        raise Conflict(
            "Thư mục đích đã có dữ liệu",
            f"{out.name}: the target folder is not empty",
            code="target_not_empty",
        )
    with archive.sessions() as session:
        org = session.scalar(
            select(Organisation).where(Organisation.code == school, Organisation.kind == "truong")
        )
        if org is None:
            raise InvalidInput(f"Không có trường {school}", f"No school {school}", code="school_not_found")
        if actor is not None:
            authorize(session, session.merge(actor), "document.download", org)
        stmt = select(Document).where(
            Document.school_id == org.id, Document.school_year == year, Document.status == "active"
        )
        if types:
            stmt = stmt.where(Document.type_code.in_(types))
        docs = [
            d
            for d in session.scalars(stmt.order_by(Document.type_code, Document.class_name, Document.title))
            if d.current
        ]
        if not docs:
            raise InvalidInput("Không có hồ sơ nào để ghi", "No document to write", code="nothing_selected")
        rows: list[dict[str, Any]] = []
        for d in docs:
            v = d.current
            assert v is not None
            ext = v.original_filename.rpartition(".")[2] if "." in v.original_filename else "pdf"
            rows.append(
                {
                    "name": entry_name(d.school.code, d.school_year, d.type_code, d.class_name, d.title, ext),
                    "document_id": d.id, "version": v.number, "title": d.title, "type": d.type_code,
                    "type_name": d.doc_type.name_vi, "class_name": d.class_name, "subject": d.subject,
                    "teacher": d.teacher, "sha256": v.sha256, "size": v.size, "signed": v.signed,
                    "verdict": (v.validation or {}).get("verdict") if isinstance(v.validation, dict) else None,
                }
            )  # fmt: skip
        school_name, school_id, principal = org.name, org.id, principal_name(session, org)
    for row, name in zip(
        rows, unique_names([r["name"] for r in rows], [r["document_id"] for r in rows]), strict=True
    ):
        row["name"] = name
    out.mkdir(parents=True, exist_ok=True)
    try:
        for row in rows:
            try:
                _, chunks = archive.replicas.open_verified(content_key(row["sha256"]), row["sha256"])
            except NoGoodCopy:
                raise StorageDown(
                    "Không có bản sao nguyên vẹn của một tệp; đã dừng ghi", f"No intact copy of {row['name']}"
                ) from None
            with open(out / row["name"], "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        now = utcnow().replace(microsecond=0)
        listing = {"school": school, "school_name": school_name, "year": year, "types": list(types),
                   "exported_at": now.isoformat(), "files": rows}  # fmt: skip
        (out / LISTING).write_text(json.dumps(listing, ensure_ascii=False, indent=1), encoding="utf-8")
        total = sum(r["size"] for r in rows)
        bagit.make_bag(
            str(out),
            bag_info={
                "Source-Organization": school_name,
                "Organization-Code": school,
                "School-Year": year,
                "Record-Types": ", ".join(types) or "tất cả / all",
                "Document-Count": str(len(rows)),
                "Export-Time": now.isoformat(),
                "External-Description": "Hồ sơ lưu trữ điện tử ghi ra vật mang tin (hoso)",
            },
            checksums=["sha256", "sha512"],
        )
        tag_sha = hashlib.sha256((out / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
        label = {
            "school": school, "school_name": school_name, "year": year, "types": list(types), "documents": len(rows),
            "total_bytes": total, "tagmanifest_sha256": tag_sha, "exported_at": now.isoformat(),
            "principal": principal,
        }  # fmt: skip
        if archive.signing is None:
            raise StorageDown(
                "Chưa cấu hình chữ ký số của hệ thống", "No system seal is configured", code="no_seal"
            )
        (out / LABEL).write_bytes(archive.signing.sign_org(render_label(label)))
    except BaseException:
        for p in sorted(
            out.rglob("*"), reverse=True
        ):  # nothing half-written is left to be mistaken for a medium
            p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
        raise
    with archive.sessions() as session, session.begin():
        medium = MediaExport(
            school_id=school_id, school_year=year, types=",".join(types), documents=len(rows), total_bytes=total,
            tagmanifest_sha256=tag_sha, label=str(out)[:300], actor=actor.username if actor else "system",
        )  # fmt: skip
        session.add(medium)
        session.flush()
        record_event(
            session,
            "media.export",
            actor=session.get(User, actor.id) if actor is not None else None,
            actor_name=None if actor is not None else "system",
            organisation_id=school_id,
            detail={
                "media": medium.id,
                "year": year,
                "types": list(types),
                "documents": len(rows),
                "bytes": total,
            }
            | {"tagmanifest_sha256": tag_sha},
        )
        return MediaResult(medium.id, out, len(rows), total, tag_sha)


def render_label(label: dict[str, Any]) -> bytes:
    """The printable label sheet (nhãn), with the same facts embedded as JSON for `verify_media`."""
    from io import BytesIO

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    regular, bold = fonts()
    buf = BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(f"Nhãn vật mang tin — {label['school']} {label['year']}")
    width, height = A4
    x, y = 60.0, height - 80
    c.setLineWidth(1.5)
    c.rect(x - 15, height - 420, width - 2 * x + 30, 360)
    rows = [
        ("NHÃN VẬT MANG TIN (CD/USB) — HỒ SƠ LƯU TRỮ ĐIỆN TỬ", 15, bold),
        (f"Trường: {label['school_name']} ({label['school']})", 12, regular),
        (f"Năm học: {label['year']}", 12, regular),
        (f"Nội dung: {', '.join(label['types']) or 'tất cả các loại hồ sơ'}", 12, regular),
        (f"Số tệp: {label['documents']}; tổng dung lượng: {label['total_bytes']} byte", 12, regular),
        ("Mã kiểm tra của gói (SHA-256 của tagmanifest-sha256.txt):", 11, regular),
        (label["tagmanifest_sha256"], 10, bold),
        (f"Ngày ghi: {vn_time(label['exported_at'])}", 12, regular),
        (f"Hiệu trưởng: {label['principal'] or '................................'}", 12, regular),
        ("Kiểm tra lại: hoso verify media <thư mục> (định dạng BagIt, SHA-256 và SHA-512).", 10, regular),
        ("Thay mới vật mang tin sau 3 năm (Thông tư 02/2019/TT-BNV).", 10, regular),
    ]
    for text, size, font in rows:
        c.setFont(font, size)
        c.drawString(x, y, text)
        y -= size + 14
    c.showPage()
    c.save()
    return with_json(buf.getvalue(), "nhan.json", label)


def verify_media(path: Path) -> MediaReport:
    """Re-check a bag from the folder alone: every payload file against both manifests, the tag files, and the label's
    digest of the tag manifest. Problems are named file by file."""
    import bagit
    import pikepdf

    problems: list[MediaProblem] = []
    documents = 0
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        return MediaReport(str(path), False, (MediaProblem(str(path), f"bag: {exc}"),), 0)
    try:
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        for d in exc.details or []:
            if isinstance(d, bagit.ChecksumMismatch):
                problems.append(MediaProblem(d.path, f"checksum ({d.algorithm})"))
            elif isinstance(d, bagit.FileMissing):
                problems.append(MediaProblem(d.path, "missing"))
            else:
                problems.append(MediaProblem(getattr(d, "path", "") or str(d), type(d).__name__))
        if not exc.details:
            problems.append(MediaProblem(str(path), f"bag: {exc.message}"))
    label_path = path / LABEL
    if label_path.exists():
        try:
            with pikepdf.open(label_path) as doc:
                label = json.loads(doc.attachments["nhan.json"].get_file().read_bytes())
            documents = int(label.get("documents", 0))
            tag = hashlib.sha256((path / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
            if tag != label.get("tagmanifest_sha256"):
                problems.append(
                    MediaProblem("tagmanifest-sha256.txt", "label: digest differs from the label")
                )
        except (OSError, KeyError, ValueError, pikepdf.PdfError) as exc:
            problems.append(MediaProblem(LABEL, f"label: {exc}"))
    else:
        problems.append(MediaProblem(LABEL, "missing"))
    # one damaged file shows in both manifests: name it once per problem kind
    unique = tuple(dict.fromkeys(problems))
    return MediaReport(str(path), not unique, unique, documents)


def register(session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every export, newest first, with its age and whether its medium is due for renewal (by the catalog's clock)."""
    now = now or db_now(session)
    rows = session.execute(
        select(MediaExport, Organisation.code, Organisation.name)
        .join(Organisation, MediaExport.school_id == Organisation.id)
        .order_by(MediaExport.created_at.desc())
    ).all()
    return [
        {
            "id": m.id,
            "created_at": m.created_at,
            "school": code,
            "school_name": name,
            "year": m.school_year,
            "types": [t for t in m.types.split(",") if t],
            "documents": m.documents,
            "total_bytes": m.total_bytes,
            "tagmanifest_sha256": m.tagmanifest_sha256,
            "label": m.label,
            "actor": m.actor,
            "renewed_at": m.renewed_at,
            "due": m.renewed_at is None and now - m.created_at >= RENEWAL,
            "due_on": m.created_at + RENEWAL,
        }  # fmt: skip
        for m, code, name in rows
    ]


def remind_due_media(archive: Archive, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The daily reminder: media older than the renewal period, alerted (log, e-mail) and recorded."""
    from .alerts import send_alert

    with archive.sessions() as session:
        due = [m for m in register(session, now=now) if m["due"]]
    if due:
        lines = [
            f"- {m['school']} {m['year']}: ghi ngày {vn_time(m['created_at'].isoformat())} ({m['label']})"
            for m in due
        ]
        send_alert(
            archive.settings,
            f"{len(due)} vật mang tin đã quá 3 năm, cần ghi lại / media due for renewal",
            "Thông tư 02/2019/TT-BNV: thay mới vật mang tin sau 3 năm.\n" + "\n".join(lines),
        )
        with archive.sessions() as session, session.begin():
            record_event(
                session, "media.renewal_due", actor_name="system", detail={"media": [m["id"] for m in due]}
            )
    return due
