"""The audit page names every action the code records in Vietnamese, and says what a lock or an edit was about."""

from __future__ import annotations

import re
from pathlib import Path

from hoso.web import labels
from hoso.web.audit_wording import describe

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r'record_event\(\s*\w+,\s*"([a-z_]+\.[a-z_]+)"|event="([a-z_]+\.[a-z_]+)"')


def test_every_recorded_action_has_a_vietnamese_name():
    found = set()
    for package in ("archive", "retention", "hoso"):
        for path in (ROOT / package).rglob("*.py"):
            for m in RECORDED.finditer(path.read_text(encoding="utf-8")):
                found.add(m.group(1) or m.group(2))
    assert {"lock.add", "document.withdraw", "document.ingest"} <= found  # the scan sees what it should
    missing = sorted(a for a in found if a not in labels.EVENT_ACTION)
    assert missing == []


def test_lock_and_edit_events_say_what_they_concern():
    types = {"hoc-ba": "Học bạ (học bạ số)", "khac": "Tài liệu khác"}
    people = {"hieutruong": "Phạm Văn Hiệu"}
    lock = {"action": "lock.add", "detail": {"type": "hoc-ba", "year": "2024-2025", "instructed_by": "hieutruong",
                                              "reason": "cuối năm"}}  # fmt: skip
    assert describe(lock, types=types, people=people) == (
        "Học bạ (học bạ số) năm học 2024-2025; theo chỉ đạo của Phạm Văn Hiệu; lý do: cuối năm"
    )
    edit = {
        "action": "document.edit",
        "detail": {"changes": {"class_name": ["6A", "6B"], "type_code": ["khac", "hoc-ba"]}},
    }
    assert (
        describe(edit, types=types, people=people)
        == "Lớp: 6A → 6B; Loại hồ sơ: Tài liệu khác → Học bạ (học bạ số)"
    )
    denied = {"action": "access.denied", "detail": {"action": "lock.manage"}}
    assert describe(denied, types=types, people=people) == "không có quyền khóa / mở khóa hồ sơ theo năm học"


def test_correction_events_name_the_request_and_the_decision():
    refused = {"action": "correction.refuse", "detail": {"correction": 7, "note": "Minh chứng không khớp"}}
    assert describe(refused, types={}, people={}) == "đề nghị chỉnh sửa số 7; ý kiến: Minh chứng không khớp"
    applied = {"action": "correction.apply", "detail": {"correction": 7, "version": 3, "filename": "so.pdf"}}
    assert describe(applied, types={}, people={}) == "đề nghị chỉnh sửa số 7; phiên bản 3"
