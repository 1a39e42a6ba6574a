"""The check record (biên bản kiểm tra định kỳ) as a PDF: period, stores (media), copies checked, damage found,
repaired (from which copy), still damaged — the faulty-file list of Thông tư 02/2019 — with the same facts embedded as
JSON. Rendering only: retention/check_records.py gathers, seals and keeps it."""

from __future__ import annotations

from typing import Any

from .inspection_report import vn_time
from .pdf_text import Report, with_json

JSON_NAME = "bien-ban-kiem-tra.json"
TRIGGER_VI = {"cycle": "hết một chu kỳ kiểm tra toàn bộ", "on_demand": "theo yêu cầu"}
STATE_VI = {"missing": "mất", "corrupt": "hỏng (sai mã SHA-256)", "unreachable": "không truy cập được"}


def render_check_record(data: dict[str, Any]) -> bytes:
    r = Report("Biên bản kiểm tra định kỳ các bản sao lưu", "hoso — Kho hồ sơ số")
    r.motto("BIÊN BẢN KIỂM TRA ĐỊNH KỲ CÁC BẢN SAO LƯU")
    line = r.line
    line(f"Kỳ kiểm tra: từ {vn_time(data['period_start'])} đến {vn_time(data['period_end'])}")
    line(f"Lập {TRIGGER_VI.get(data['trigger'], data['trigger'])}; người lập: {data['created_by']}")
    line(
        "Căn cứ: Công văn 1370/SGDĐT-GDTrH&TX (03 bản sao, kiểm tra định kỳ); Thông tư 02/2019/TT-BNV (nhật ký sao "
        "lưu, danh sách tệp lỗi). Mỗi bản sao được đọc lại toàn bộ và tính SHA-256 bởi chính hệ thống.",
        8.5,
    )
    r.space(4)
    line("1. Kho lưu trữ (vật mang tin)", 11, bold=True)
    for s in data["stores"]:
        line(
            f"Bản sao {s['position']}: {s['medium']} — {s['copies']} đối tượng; đã kiểm tra toàn bộ trong kỳ: "
            f"{s['verified_in_period']}; đang lỗi: {s['damaged_now']}",
            9,
            indent=10,
        )
    line("2. Kết quả", 11, bold=True)
    line(
        f"Số lần kiểm tra: {data['runs']} (kiểm tra toàn bộ: {data['full_runs']}); số bản sao đã kiểm tra: "
        f"{data['copies_checked']}; dung lượng đã đọc: {data['bytes_checked']} byte",
        9,
        indent=10,
    )
    line(
        f"Phát hiện hư hỏng: {data['damage_found']}; đã khôi phục: {data['repaired']}; chưa khôi phục được: "
        f"{data['unrepaired']}; hiện còn lỗi: {data['damaged_now']}",
        9,
        bold=True,
        indent=10,
    )
    line("3. Đã khôi phục (từ bản sao nguyên vẹn)", 11, bold=True)
    for fix in data["repairs"] or [None]:
        if fix is None:
            line("Không có.", 9, indent=10)
            continue
        src = f"từ bản sao {fix['source']}" if fix.get("source") else ""
        line(
            f"{vn_time(fix['at'])}: bản sao {fix['store']}, tệp {fix['key']} — đã khôi phục {src}",
            8.5,
            indent=10,
        )
    line("4. Danh sách tệp lỗi chưa khôi phục (tên tệp, vật mang tin, thư mục)", 11, bold=True)
    for d in data["damage"] or [None]:
        if d is None:
            line("Không có.", 9, indent=10)
            continue
        folder, _, name = (d["key"] or "").rpartition("/")
        line(
            f"{vn_time(d['at'])}: {name} — bản sao {d['store']} — thư mục {folder} — "
            f"{STATE_VI.get(d['state'], d['state'])}; hồ sơ: {', '.join(d['documents'][:3])}",
            8.5,
            indent=10,
        )
    r.space(18)
    line("NGƯỜI LẬP (hệ thống — ký số)", 10, bold=True, indent=20)
    r.space(-13.5)
    line("HIỆU TRƯỞNG (ký xác nhận)", 10, bold=True, indent=300)
    return with_json(r.finish(), JSON_NAME, data, "Số liệu của biên bản / the record's data")
