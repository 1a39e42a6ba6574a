"""What an audit event says, in Vietnamese, for a person reading the trail: the type and year of a lock, the fields an
edit changed, the reason of a withdrawal, the right a refusal concerned — never the raw JSON of its detail."""

from __future__ import annotations

from typing import Any

from archive.permissions import ACTIONS
from archive.record_changes import LABELS_VI as FIELD_LABELS


def describe(ev: dict[str, Any], *, types: dict[str, str], people: dict[str, str]) -> str:
    d = ev.get("detail") or {}
    action = ev.get("action", "")
    parts: list[str] = []
    if action.startswith("lock."):
        parts.append(f"{types.get(d.get('type', ''), d.get('type', ''))} năm học {d.get('year', '')}")
        if d.get("instructed_by"):
            parts.append(f"theo chỉ đạo của {people.get(d['instructed_by'], d['instructed_by'])}")
    elif action == "document.edit":
        for field, (old, new) in (d.get("changes") or {}).items():
            if field == "type_code":
                old, new = types.get(old or "", old), types.get(new or "", new)
            parts.append(f"{FIELD_LABELS.get(field, field)}: {old or '—'} → {new or '—'}")
    elif action in ("document.ingest", "document.replace", "document.sign") and d.get("version"):
        parts.append(f"phiên bản {d['version']}")
        if d.get("filename"):
            parts.append(f"tệp «{d['filename']}»")
    elif action.startswith("correction."):
        parts.append(f"đề nghị chỉnh sửa số {d.get('correction', '')}")
        if d.get("version"):
            parts.append(f"phiên bản {d['version']}")
        if d.get("note"):
            parts.append(f"ý kiến: {d['note']}")
    elif action == "access.denied":
        wanted = d.get("action", "")
        if wanted in ACTIONS:
            parts.append(f"không có quyền {ACTIONS[wanted][0]}")
        elif d.get("reason"):
            parts.append(f"lý do: {d['reason']}")
    elif action == "replica.damage" and d.get("state"):
        parts.append({"corrupt": "bản sao bị hỏng", "missing": "thiếu bản sao"}.get(d["state"], d["state"]))
    if d.get("reason") and action != "access.denied":
        parts.append(f"lý do: {d['reason']}")
    return "; ".join(p for p in parts if p)
