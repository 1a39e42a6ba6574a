"""Where each signature of a document's chain is drawn: chosen once for the whole round at its first signature
(signing.layout), kept on the signing requests, so every signer of the round gets a place of their own."""

from __future__ import annotations

import io
from dataclasses import dataclass

from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy.orm import Session

from signing import layout

from .chain_models import SigningRequest
from .chains import requests_of
from .models import Document

# empty signature fields of school-software exports, by step: their names folded (layout.fold)
FIELD_ALIASES = {
    "principal": ("hieutruong", "principal", "chuky_hieutruong", "kyhieutruong"),
    "homeroom": ("gvcn", "giaovienchunhiem", "homeroom"),
    "subject_teachers": ("gvbm", "giaovienbomon"),
    "group_head": ("totruong", "totruongchuyenmon", "grouphead"),
    "uploader": ("nguoilap", "giaovien", "preparer"),
    "seal": ("condau", "daucoquan", "seal", "vanthu", "dongdau"),
}


@dataclass(frozen=True)
class Place:
    page: int
    box: tuple[float, float, float, float]
    field_name: str | None  # an empty field of the file to sign into
    new_page_heading: tuple[str, ...]


def _pages(pdf: bytes) -> tuple[int, tuple[float, float]]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    count = int(reader.root["/Pages"]["/Count"])
    page = reader.find_page_for_modification(count - 1)[0].get_object()
    node, box = page, None
    while node is not None and box is None:
        box = node.get("/MediaBox")
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    if box is None:
        return count, (595.0, 842.0)
    x1, y1, x2, y2 = (float(v) for v in box)
    return count, (abs(x2 - x1), abs(y2 - y1))


def _kinds(rows: list[SigningRequest]) -> dict[int, str]:
    """Row id → slot kind: several signers of a step go in rows; the last two single personal steps are the
    preparer (left) and the head (right); the seal sits by the head."""
    by_position: dict[int, list[SigningRequest]] = {}
    for r in rows:
        by_position.setdefault(r.position, []).append(r)
    singles = [p for p, rs in sorted(by_position.items()) if len(rs) == 1 and rs[0].who != "seal"]
    kinds: dict[int, str] = {}
    for position, rs in by_position.items():
        for r in rs:
            if r.who == "seal":
                kinds[r.id] = "seal"
            elif singles and position == singles[-1]:
                kinds[r.id] = "right"
            elif len(singles) >= 2 and position == singles[-2]:
                kinds[r.id] = "left"
            else:
                kinds[r.id] = "row"
    return kinds


def _match_field(row: SigningRequest, empty: list[layout.Field], used: set[str]) -> layout.Field | None:
    for f in empty:
        name = layout.fold(f.name)
        if f.name in used:
            continue
        if any(name.startswith(alias) for alias in FIELD_ALIASES.get(row.who, ())):
            if row.who == "subject_teachers" and row.subject and layout.fold(row.subject) not in name:
                continue
            return f
    return None


def assign(session: Session, doc: Document, pdf: bytes) -> None:
    """Choose a place for every row of the current round that has none yet."""
    rows = [r for r in requests_of(session, doc.id) if r.status not in ("cancelled", "returned")]
    todo = [r for r in rows if not r.box]
    if not todo:
        return
    fields = layout.signature_fields(pdf)
    empty = [f for f in fields if not f.signed]
    used = {r.field_name for r in rows if r.field_name}
    for r in list(todo):
        match = _match_field(r, empty, used)
        if match is not None:
            r.field_name = match.name
            r.box = _box_text(match.page, match.rect)
            used.add(match.name)
            todo.remove(r)
    if not todo:
        return
    count, size = _pages(pdf)
    taken = [(f.page, f.rect) for f in fields] + [_parse(r.box) for r in rows if r.box]
    kinds = _kinds(todo if len(todo) < len(rows) else rows)
    slots = [layout.Slot(str(r.id), kinds.get(r.id, "row")) for r in todo]
    bottom = layout.text_bottom(pdf, count - 1, size[1])
    placement = layout.place(
        slots, page_size=size, page_count=count, text_bottom=bottom, taken=taken,
        may_append=not any(f.signed for f in fields),
    )  # fmt: skip
    page = count if placement.new_page else placement.page
    for r in todo:
        r.box = _box_text(page, placement.boxes[str(r.id)])


def _box_text(page: int, rect: tuple[float, float, float, float]) -> str:
    return f"{page} " + " ".join(f"{v:.1f}" for v in rect)


def _parse(text: str) -> tuple[int, tuple[float, float, float, float]]:
    page, *rest = text.split()
    x1, y1, x2, y2 = (float(v) for v in rest)
    return int(page), (x1, y1, x2, y2)


def place_of(row: SigningRequest, doc: Document, pdf: bytes) -> Place:
    """The row's place in the current file; a place on a page the file does not have yet means: append it."""
    page, box = _parse(row.box)
    count, _ = _pages(pdf)
    heading: tuple[str, ...] = ()
    if page >= count:
        page = count
        heading = ("TRANG CHỮ KÝ SỐ", doc.title[:90], f"{doc.school.name} — năm học {doc.school_year}")
    return Place(page, box, row.field_name or None, heading)
