"""The inspection package's evidence report (báo cáo kiểm tra) as a PDF: every file with its checksum, its signers,
the validation verdict in Thông tư 15/2025/TT-BKHCN terms and the last integrity check of each copy. The same listing
is embedded as JSON (and shipped next to the PDF), and the PDF names that JSON's SHA-256, so once the system's seal
signs the PDF, both are covered. Rendering only: retention/inspection.py decides what goes in, seals and stores it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .pdf_text import Report, with_json

VN = timezone(timedelta(hours=7))
STATE_VI = {
    "ok": "tốt",
    "missing": "thiếu",
    "corrupt": "hỏng",
    "unreachable": "không truy cập được",
    "pending": "chờ",
}
KIND_VI = {"signature": "Chữ ký số", "document_timestamp": "Dấu thời gian tài liệu"}


def vn_time(value: str | None) -> str:
    if not value:
        return "chưa có"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN).strftime("%d/%m/%Y %H:%M (+07:00)")


def render_report(listing: dict[str, Any], *, listing_sha256: str, json_name: str) -> bytes:
    r = Report(
        f"Báo cáo kiểm tra hồ sơ — gói {listing['package'][:8]}",
        "hoso — Kho hồ sơ số",
        subject="Báo cáo kiểm tra kèm gói hồ sơ phục vụ thanh tra, kiểm tra",
    )
    r.motto(
        "BÁO CÁO KIỂM TRA HỒ SƠ", "kèm gói hồ sơ phục vụ thanh tra, kiểm tra (gửi dưới dạng tệp đính kèm)"
    )
    line = r.line
    line(f"Mã gói: {listing['package']}")
    line(f"Lập lúc: {vn_time(listing['created_at'])}; người nhận gói: {listing['created_by_name']}")
    sel = listing["selection"]
    chosen = "; ".join(
        f"{label}: {', '.join(sel[key])}"
        for key, label in (
            ("schools", "trường"),
            ("years", "năm học"),
            ("types", "loại hồ sơ"),
            ("classes", "lớp"),
            ("documents", "hồ sơ được chọn"),
        )
        if sel.get(key)
    )
    line(f"Phạm vi yêu cầu: {chosen}")
    line(f"Số tệp hồ sơ: {listing['documents']}; tổng dung lượng: {listing['total_bytes']} byte")
    line(f"Danh sách dạng máy đọc: {json_name}, SHA-256 {listing_sha256}", 8.5)
    line(
        "Kết quả kiểm tra chữ ký theo Thông tư 15/2025/TT-BKHCN (Hợp lệ / Không hợp lệ / Chưa xác định). Tình trạng "
        "bản sao: lần kiểm tra toàn vẹn (đọc lại toàn bộ và tính SHA-256) gần nhất của từng bản sao lưu.",
        8.5,
    )
    r.space(6)
    line("Danh sách tệp trong gói", 11, bold=True)
    for n, f in enumerate(listing["files"], 1):
        r.space(3)
        line(f"{n}. {f['name']}", 9.5, bold=True)
        line(
            f"{f['title']} — {f['type_name']} — {f['school_name']} ({f['school']}) — năm học {f['year']}"
            + (f" — lớp {f['class_name']}" if f.get("class_name") else ""),
            8.5,
            indent=12,
        )
        line(f"Mã hồ sơ {f['document_id']}, phiên bản {f['version']}, {f['size']} byte", 8.5, indent=12)
        line(f"SHA-256: {f['sha256']}", 8.5, indent=12)
        v = f["validation"]
        if not f.get("signed") and not f["signatures"]:
            line("Kết quả kiểm tra chữ ký: tệp không có chữ ký số", 8.5, indent=12)
        else:
            reason = f" — {v['reason_vi']}" if v.get("reason_vi") else ""
            line(
                f"Kết quả kiểm tra chữ ký: {v.get('verdict_vi') or 'Chưa kiểm tra'}{reason}"
                f" (kiểm tra lúc {vn_time(v.get('validation_time'))})",
                8.5,
                indent=12,
            )
        for s in f["signatures"]:
            when = s.get("timestamp_time") or s.get("signing_time")
            who = s.get("signer") or "không rõ"
            org = f", {s['organisation']}" if s.get("organisation") else ""
            line(
                f"{KIND_VI.get(s.get('kind') or '', 'Chữ ký')}: {who}{org} — {vn_time(when)} — {s.get('verdict_vi') or ''}",
                8,
                indent=24,
            )
        copies = "; ".join(
            f"bản sao {cp['copy']}: {STATE_VI.get(cp['state'], cp['state'])}, kiểm tra lúc {vn_time(cp['verified_at'])}"
            for cp in f["copies"]
        )
        line(f"Bản sao lưu: {copies or 'không có thông tin'}", 8, indent=12)
    r.space(14)
    line(
        "Báo cáo này được ký số bằng chữ ký số của hệ thống (con dấu của đơn vị); kiểm tra chữ ký và so khớp "
        "SHA256SUMS để xác nhận gói không bị thay đổi.",
        8.5,
    )
    return with_json(r.finish(), json_name, listing, "Danh sách tệp trong gói / package listing")
