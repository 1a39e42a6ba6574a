"""A locked record and a correction walked through its steps, for the corrections tests."""

from __future__ import annotations

from pathlib import Path

from archive import accounts, corrections, locks, orgs, record_changes
from archive.context import Archive
from archive.correction_models import CorrectionRequest
from archive.ingest import hash_file, ingest_file
from retention.correction_record import file_record
from tests.factories import make_pdf

YEAR = "2024-2025"


def locked_record(a: Archive, tmp: Path, title: str = "Sổ theo dõi đánh giá lớp 6A") -> str:
    path = make_pdf(tmp / "so-6a.pdf", extra=title.encode())
    doc_id = ingest_file(
        a, path, filename=path.name, school="C01", type_code="so-theo-doi-danh-gia-lop", year=YEAR, title=title,
        class_name="6A",
    ).document.id  # fmt: skip
    with a.sessions() as s, s.begin():
        locks.add_lock(
            s, school=orgs.get_organisation(s, "C01"), type_code="so-theo-doi-danh-gia-lop", year=YEAR,
            actor=accounts.get_user(s, "hieutruong"), reason="hết năm học",
        )  # fmt: skip
    return doc_id


def evidence(tmp: Path) -> list[corrections.EvidenceFile]:
    photo = tmp / "so-diem-ca-nhan.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"anh chup so diem" * 20)
    scan = make_pdf(tmp / "bai-kiem-tra.pdf", extra=b"bai kiem tra 15 phut")
    return [corrections.EvidenceFile(p, p.name, *hash_file(p)) for p in (photo, scan)]


def request(a: Archive, tmp: Path, doc_id: str, who: str = "gvbm") -> CorrectionRequest:
    with a.sessions() as s:
        actor = accounts.get_user(s, who)
        s.expunge(actor)
    return corrections.file_request(
        a, doc_id, actor=actor, wrong="Điểm kiểm tra 15 phút môn Toán của em Nguyễn Văn An ghi 5",
        should_be="Điểm đúng là 8", why="Nhập nhầm từ sổ điểm cá nhân", evidence=evidence(tmp),
    )  # fmt: skip


def approve(a: Archive, correction_id: int) -> None:
    with a.sessions() as s, s.begin():
        req = corrections.get_request(s, correction_id)
        corrections.decide(s, req, actor=accounts.get_user(s, "hieutruong"), approve=True, note="Đồng ý")


def apply(a: Archive, tmp: Path, doc_id: str, correction_id: int, who: str = "gvbm") -> int:
    fixed = make_pdf(tmp / f"so-6a-sua-{correction_id}.pdf", extra=b"An: 8")
    with a.sessions() as s:
        actor = accounts.get_user(s, who)
        s.expunge(actor)
    sha, size = hash_file(fixed)
    version = record_changes.replace_file(
        a, doc_id, fixed, filename=fixed.name, sha256=sha, size=size, reason="Sửa điểm theo biên bản",
        actor=actor, correction_id=correction_id,
    )  # fmt: skip
    return version.number


def complete(a: Archive, tmp: Path, doc_id: str) -> tuple[int, str]:
    """Request → approval → corrected version → biên bản filed; returns the correction id and the biên bản's id."""
    req = request(a, tmp, doc_id)
    approve(a, req.id)
    apply(a, tmp, doc_id, req.id)
    record = file_record(a, req.id)
    assert record is not None
    return req.id, record
