"""The disposal record (biên bản tiêu hủy) as a PDF: who proposed and approved, the legal basis, every file with its
SHA-256 on the page for people, and the same listing embedded as JSON for machines. Rendering only: disposal.py
decides what goes in it, signs it and archives it."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from .pdf_text import fonts, with_json, wrap

LISTING_NAME = "danh-sach-tieu-huy.json"  # the embedded JSON listing


def render_record(
    *, batch_id: int, school_name: str, listing: dict[str, Any], today: date, warning: str | None
) -> bytes:
    """The disposal record: who proposed and approved, the legal basis, and every file with its SHA-256."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    regular, bold = fonts()
    buf = BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"Biên bản tiêu hủy hồ sơ — đợt {batch_id}")
    c.setAuthor(school_name)
    c.setSubject("Biên bản tiêu hủy hồ sơ hết thời hạn bảo quản")
    width, height = A4
    left, y = 50.0, height - 60

    def line(text: str, size: float = 9.5, font: str = regular, indent: float = 0, gap: float = 4) -> None:
        nonlocal y
        if y < 60:
            c.showPage()
            y = height - 60
        c.setFont(font, size)
        c.drawString(left + indent, y, text)
        y -= size + gap

    def centred(text: str, size: float, font: str) -> None:
        nonlocal y
        c.setFont(font, size)
        c.drawCentredString(width / 2, y, text)
        y -= size + 6

    c.setFont(regular, 10)
    c.drawString(left, y, school_name)
    c.drawRightString(width - left, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    y -= 14
    c.drawRightString(width - left, y, "Độc lập - Tự do - Hạnh phúc")
    y -= 30
    centred("BIÊN BẢN TIÊU HỦY HỒ SƠ HẾT THỜI HẠN BẢO QUẢN", 14, bold)
    centred(f"Đợt số {batch_id} — ngày {today.strftime('%d/%m/%Y')}", 10, regular)
    y -= 6
    if warning:
        c.setFillColorRGB(0.75, 0, 0)
        for part in wrap(warning, 95):
            line(part, 10, bold)
        c.setFillColorRGB(0, 0, 0)
        y -= 4
    line(f"Người lập danh sách: {listing['proposed_by']} (lúc {listing['proposed_at']})")
    approver = listing["approved_by_name"] or listing["approved_by"]
    line(f"Người phê duyệt (Hiệu trưởng): {approver} (lúc {listing['approved_at']})")
    files = sum(len(i["versions"]) for i in listing["items"])
    size = sum(v["size"] for i in listing["items"] for v in i["versions"])
    line(f"Số hồ sơ: {len(listing['items'])}; số tệp: {files}; tổng dung lượng: {size} byte")
    line(
        "Căn cứ: thời hạn bảo quản tính từ năm công việc kết thúc (Thông tư 27/2016/TT-BGDĐT và văn bản thay thế); "
        "các dòng áp dụng ghi theo từng hồ sơ.",
        8.5,
    )
    y -= 6
    line("Danh sách tệp bị tiêu hủy (mã kiểm tra SHA-256):", 10.5, bold)
    for n, item in enumerate(listing["items"], 1):
        line(f"{n}. {item['title'][:90]}", 9.5, bold, gap=3)
        line(
            f"Mã hồ sơ {item['document_id']} — {item['type'][:60]} — năm học {item['year']}",
            8.5,
            indent=14,
            gap=3,
        )
        basis = "; ".join(item["basis"].get("sources", []))
        line(
            f"Thời hạn: {item['basis'].get('retention', '')}; được tiêu hủy từ {item['disposable_from']}; căn cứ: {basis}"[
                :150
            ],
            8,
            indent=14,
            gap=3,
        )
        for v in item["versions"]:
            line(f"Phiên bản {v['number']}: {v['filename'][:80]} ({v['size']} byte)", 8, indent=28, gap=2)
            line(f"SHA-256: {v['sha256']}", 8, indent=28, gap=5)
    y -= 20
    line("HIỆU TRƯỞNG", 10.5, bold, indent=330)
    line("(Ký số)", 9, indent=342)
    c.showPage()
    c.save()
    return buf.getvalue()


def attach_listing(pdf: bytes, listing: dict[str, Any]) -> bytes:
    """Embed the listing as JSON in the record, so a machine can check the files against it (the page text is for
    people; the signature covers both)."""
    return with_json(pdf, LISTING_NAME, listing, "Danh sách tệp tiêu hủy / files disposed of")
